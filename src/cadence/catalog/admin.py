"""Operators' admin for products and variants (stock and prices)."""

from django.contrib import admin

from cadence.catalog.models import Product, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["name", "unit", "sku", "price", "on_hand", "on_demand", "deleted_at"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "supplier", "deleted_at", "created_at"]
    list_select_related = ["supplier"]
    list_filter = ["supplier", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "supplier__name"]
    autocomplete_fields = ["supplier"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sku", "price", "on_hand", "on_demand", "deleted_at"]
    list_select_related = ["product"]
    list_filter = ["on_demand", "product__supplier", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["product__name", "name", "sku"]
    autocomplete_fields = ["product"]
