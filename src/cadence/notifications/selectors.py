"""Reads on emails: the outbox staff look through."""

from __future__ import annotations

from django.db.models import QuerySet

from cadence.notifications.models import Email, EmailStatus


def outbox_emails() -> QuerySet[Email]:
    """Every email, newest first, with only what a list shows."""
    return Email.objects.order_by("-created_at", "-id").only(
        "id", "to", "subject", "kind", "status", "created_at", "sent_at"
    )


def failed_email_count() -> int:
    """How many emails failed to send (and may be queued again)."""
    return Email.objects.filter(status=EmailStatus.FAILED).count()


def email_get(*, email_id: int) -> Email | None:
    """One email by id; None when there is none."""
    return Email.objects.filter(pk=email_id).first()
