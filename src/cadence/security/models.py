"""Failed API token attempts, counted per client address and minute."""

from django.db import models


class TokenFailureWindow(models.Model):
    """How many bad tokens an address sent during the minute starting at `window_start`.

    In the database rather than Django's cache: the default cache is per process, and the
    instance runs several web processes, so each would count only its own share."""

    ip_address = models.CharField(max_length=45)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ip_address", "window_start"], name="token_failure_window_unique"
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="token_failure_window_start")]

    def __str__(self) -> str:
        return f"{self.ip_address} {self.window_start:%H:%M}: {self.failures}"
