"""Manager and buyer pages."""

from django.conf import settings
from django.db import models


class TableColumnsManager(models.Manager["TableColumns"]):
    def hidden_for(self, user, table: str, *, default: tuple[str, ...] = ()) -> list[str]:
        """The columns `user` hides in `table`; `default` until they choose."""
        row = self.filter(user=user, table=table).first() if user.is_authenticated else None
        return list(default) if row is None else [str(name) for name in row.hidden]

    def remember(self, user, table: str, hidden: list[str]) -> None:
        """Keep `user`'s choice of hidden columns for `table` (one row per user and table)."""
        self.update_or_create(user=user, table=table, defaults={"hidden": sorted(set(hidden))})


class TableColumns(models.Model):
    """The columns a user hides in one of the back office's tables (named by `table`), so the
    list looks the same on their next visit, on any device."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=40)
    hidden = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TableColumnsManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "table"], name="uniq_table_columns_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.table} of user #{self.user_id}"
