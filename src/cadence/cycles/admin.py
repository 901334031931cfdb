"""Operators' admin for order cycles, their fees, and schedules."""

from django.contrib import admin

from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule


class OrderCycleFeeInline(admin.TabularInline):
    model = OrderCycleFee
    extra = 0


@admin.register(OrderCycle)
class OrderCycleAdmin(admin.ModelAdmin):
    # Editing dates here does not resync proxy orders: managers change cycles through the
    # API or the pages, which do. The admin is for looking and for repairs.
    list_display = ["name", "shop", "opens_at", "closes_at"]
    list_select_related = ["shop"]
    list_filter = ["shop"]
    date_hierarchy = "opens_at"
    search_fields = ["name", "shop__name"]
    autocomplete_fields = ["shop", "variants"]
    inlines = [OrderCycleFeeInline]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "created_at"]
    list_select_related = ["shop"]
    list_filter = ["shop"]
    search_fields = ["name", "shop__name"]
    autocomplete_fields = ["shop", "order_cycles"]
