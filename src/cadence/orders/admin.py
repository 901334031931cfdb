"""Operators' admin for orders (with their lines, fees and payments) and shipping methods."""

from django.contrib import admin

from cadence.orders.models import Adjustment, LineItem, Order, ShippingMethod
from cadence.payments.models import Payment


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    autocomplete_fields = ["variant"]


class AdjustmentInline(admin.TabularInline):
    model = Adjustment
    extra = 0


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["method", "amount", "state", "error", "gateway_reference"]
    readonly_fields = ["gateway_reference"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "shop",
        "order_cycle",
        "customer",
        "state",
        "payment_state",
        "total",
        "placed_at",
    ]
    list_select_related = ["shop", "order_cycle", "customer"]
    list_filter = ["state", "payment_state", "shop"]
    date_hierarchy = "created_at"
    search_fields = ["number", "email", "customer__first_name", "customer__last_name"]
    autocomplete_fields = ["shop", "order_cycle", "customer", "user", "shipping_method"]
    readonly_fields = ["sync_snapshot", "created_at", "updated_at"]
    inlines = [LineItemInline, AdjustmentInline, PaymentInline]


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "fee", "requires_address", "active"]
    list_select_related = ["shop"]
    list_filter = ["active", "requires_address", "shop"]
    search_fields = ["name", "shop__name"]
    autocomplete_fields = ["shop"]
