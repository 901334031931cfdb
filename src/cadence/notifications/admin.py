"""Operators' admin for the email outbox (read-only: rows are written by the services)."""

from django.contrib import admin

from cadence.notifications.models import Email


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "to", "subject", "kind", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "dedup_key"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Email._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
