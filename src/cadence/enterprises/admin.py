"""Operators' admin for enterprises and the permissions between them."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cadence.enterprises.models import Enterprise, SupplierPermission


class SupplierPermissionInline(admin.TabularInline):
    model = SupplierPermission
    fk_name = "shop"
    extra = 0
    autocomplete_fields = ["producer"]
    verbose_name = _("supplier")
    verbose_name_plural = _("suppliers (producers whose variants this shop may sell)")


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_shop",
        "is_producer",
        "enable_subscriptions",
        "allocation_policy",
        "timezone",
        "currency",
        "contact_email",
    ]
    list_filter = ["is_shop", "is_producer", "enable_subscriptions", "allocation_policy"]
    search_fields = ["name", "contact_email"]
    filter_horizontal = ["managers"]
    inlines = [SupplierPermissionInline]


@admin.register(SupplierPermission)
class SupplierPermissionAdmin(admin.ModelAdmin):
    list_display = ["producer", "shop", "created_at"]
    list_select_related = ["producer", "shop"]
    search_fields = ["producer__name", "shop__name"]
    autocomplete_fields = ["producer", "shop"]
