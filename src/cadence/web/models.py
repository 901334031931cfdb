"""Manager and buyer pages."""

from django.conf import settings
from django.db import models


class TableColumns(models.Model):
    """The columns a user hides in one of the back office's tables (named by `table`), so the
    list looks the same on their next visit, on any device."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=40)
    hidden = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "table"], name="uniq_table_columns_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.table} of user #{self.user_id}"
