"""Operators' admin for subscriptions, their proxy orders and audit trail.

Changes made here bypass the services (no proxy-order sync, no emails): it is a tool for
looking and for repairs; managers change subscriptions through the API and the pages.
"""

from django.contrib import admin

from cadence.subscriptions.models import (
    ProxyOrder,
    Subscription,
    SubscriptionEvent,
    SubscriptionLineItem,
)


class SubscriptionLineItemInline(admin.TabularInline):
    model = SubscriptionLineItem
    extra = 0
    autocomplete_fields = ["variant"]


class ProxyOrderInline(admin.TabularInline):
    model = ProxyOrder
    extra = 0
    fields = ["order_cycle", "state", "order", "reason", "placed_at", "confirmed_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class SubscriptionEventInline(admin.TabularInline):
    model = SubscriptionEvent
    extra = 0
    fields = ["created_at", "actor", "kind", "data"]
    readonly_fields = fields
    can_delete = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "shop",
        "schedule",
        "begins_at",
        "ends_at",
        "paused_at",
        "canceled_at",
    ]
    list_select_related = ["customer", "shop", "schedule"]
    list_filter = [
        "shop",
        "schedule",
        ("paused_at", admin.EmptyFieldListFilter),
        ("canceled_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["customer__email", "customer__first_name", "customer__last_name"]
    autocomplete_fields = ["shop", "customer", "schedule", "payment_method", "shipping_method"]
    inlines = [SubscriptionLineItemInline, ProxyOrderInline, SubscriptionEventInline]


@admin.register(ProxyOrder)
class ProxyOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "order_cycle", "state", "order", "placed_at"]
    list_select_related = ["subscription", "order_cycle", "order"]
    list_filter = ["state", "order_cycle__shop"]
    search_fields = ["subscription__customer__email", "order__number"]
    raw_id_fields = ["subscription", "order_cycle", "order"]
