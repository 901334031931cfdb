"""Operators' admin for shops' customer lists."""

from django.contrib import admin

from cadence.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "shop",
        "code",
        "user",
        "language",
        "deleted_at",
    ]
    list_select_related = ["shop", "user"]
    list_filter = ["shop", "language"]
    search_fields = ["email", "first_name", "last_name", "code"]
    autocomplete_fields = ["shop", "user"]
