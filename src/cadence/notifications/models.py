"""The email outbox: every email is a row written with the event, then sent by a task."""

from django.db import models


class EmailStatus(models.TextChoices):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Email(models.Model):
    to = models.CharField(max_length=254)
    from_name = models.CharField(max_length=200, blank=True)
    reply_to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    kind = models.CharField(max_length=40)
    # Emails queued by the engine carry their data, not their text: `context` (plain JSON)
    # is rendered with the `kind`'s templates in `language` when the email is sent, which
    # keeps placement fast. `subject`/`text`/`html` then hold what was sent. Emails queued
    # with their text already written are sent as they are.
    language = models.CharField(max_length=8, default="en")
    context = models.JSONField(default=dict, blank=True)
    # A natural key for emails that must exist once per event ("summary:placement:<cycle>").
    # Unique where set (see Meta): most emails have none, and a partial index leaves them
    # out, so writing a buyer's email costs no entry in it.
    dedup_key = models.CharField(max_length=200, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While `sending`: until when the sender that claimed the row owns it. Past it, the
    # sender is taken for dead and the row is claimed and sent again (see services).
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The outbox page lists emails newest first.
            models.Index(fields=["created_at", "id"], name="notifications_email_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=models.Q(dedup_key__isnull=False),
                name="notifications_email_dedup_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"
