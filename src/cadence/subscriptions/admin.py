"""Operators' admin for subscriptions, their proxy orders and audit trail.

Changes made here bypass the services (no proxy-order sync, no emails): it is a tool for
looking and for repairs; managers change subscriptions through the API and the pages.
"""

from django.contrib import admin

from cadence.subscriptions.models import (
    CycleAllocation,
    ProxyOrder,
    Subscription,
    SubscriptionEvent,
    SubscriptionLineItem,
)

PROXY_ORDER_FIELDS = ("order_cycle", "state", "order", "reason", "placed_at", "confirmed_at")

EVENT_FIELDS = ("created_at", "actor", "kind", "data")

ALLOCATION_FIELDS = ("order_cycle", "policy", "computed_at", "shares")


class SubscriptionLineItemInline(admin.TabularInline):
    model = SubscriptionLineItem
    extra = 0
    autocomplete_fields = ["variant"]


class ProxyOrderInline(admin.TabularInline):
    model = ProxyOrder
    extra = 0
    fields = PROXY_ORDER_FIELDS
    readonly_fields = PROXY_ORDER_FIELDS
    can_delete = False
    show_change_link = True


class SubscriptionEventInline(admin.TabularInline):
    model = SubscriptionEvent
    extra = 0
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
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
    list_display = [
        "id",
        "subscription",
        "order_cycle",
        "state",
        "order",
        "placed_at",
        "allocated",
    ]
    list_select_related = ["subscription", "order_cycle", "order"]
    list_filter = ["state", "allocated", "order_cycle__shop"]
    search_fields = ["subscription__customer__email", "order__number"]
    raw_id_fields = ["subscription", "order_cycle", "order"]


@admin.register(CycleAllocation)
class CycleAllocationAdmin(admin.ModelAdmin):
    """Read only: placement stores a cycle's allocation once and every run relies on it;
    changing or deleting it mid-cycle would re-divide stock already promised."""

    list_display = ["order_cycle", "policy", "computed_at"]
    list_select_related = ["order_cycle__shop"]
    list_filter = ["policy", "order_cycle__shop"]
    search_fields = ["order_cycle__name", "order_cycle__shop__name"]
    fields = ALLOCATION_FIELDS
    readonly_fields = ALLOCATION_FIELDS

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
