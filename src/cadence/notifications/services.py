"""The email outbox: queue rows with the event, send them later, each at most once.

Queueing writes an `Email` row in the caller's transaction and enqueues the send task only
when that transaction commits, so a rolled-back event sends nothing and a mail server outage
loses nothing (the row waits, with retries and backoff).

Sending claims a row with a guarded UPDATE (queued -> sending), hands the message to Django's
mail layer, then marks it sent. Two senders never send the same row: only one UPDATE wins.
The one window where an email can be lost or doubted is a crash between the SMTP server
accepting the message and the UPDATE to `sent` (a few milliseconds): the row stays in
`sending`, and `emails_send_due` later marks such stale rows `failed` instead of sending
them again, because resending could duplicate an email the buyer already has. An operator
can requeue them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.rendering import render_email

logger = logging.getLogger("cadence.notifications")

MAX_ATTEMPTS = 8
# Minutes to wait after the n-th failed attempt (the last value repeats).
BACKOFF_MINUTES = (1, 5, 15, 30, 60, 120, 240)
# A row left in `sending` longer than this was interrupted by a crash (see module docstring).
STALE_SENDING = timedelta(minutes=15)
SEND_BATCH = 200


def _enqueue_send_on_commit(email_ids: list[int]) -> None:
    if not email_ids:
        return

    def enqueue() -> None:
        from cadence.notifications.tasks import emails_send_task

        try:
            emails_send_task.enqueue(email_ids=email_ids)
        except Exception:  # the rows are safe; the worker's catch-up sends them
            logger.exception("could not enqueue sending of emails %s", email_ids[:5])

    transaction.on_commit(enqueue)


def email_build(
    *,
    to: str,
    kind: str,
    context: dict | None = None,
    language: str = "en",
    from_name: str = "",
    reply_to: str = "",
    dedup_key: str | None = None,
    subject: str = "",
    text: str = "",
    html: str = "",
) -> Email:
    """An unsaved outbox row (for `emails_queue_bulk`)."""
    return Email(
        to=to,
        kind=kind,
        context=context or {},
        language=language or "en",
        from_name=from_name[:200],
        reply_to=reply_to,
        dedup_key=dedup_key,
        subject=subject[:300],
        text=text,
        html=html,
    )


def email_queue(
    *,
    to: str,
    kind: str,
    context: dict | None = None,
    language: str = "en",
    from_name: str = "",
    reply_to: str = "",
    dedup_key: str | None = None,
    subject: str = "",
    text: str = "",
    html: str = "",
) -> Email | None:
    """Write one outbox row in the current transaction; send it after commit.

    Either give `subject`/`text` (and optionally `html`) already written, or a `kind` with
    templates `notifications/<kind>_subject.txt`, `<kind>.txt`, `<kind>.html` and a JSON
    `context`, rendered in `language` when sent. With a `dedup_key`, the email exists once:
    returns None when a row with that key is already there.
    """
    email = email_build(
        to=to,
        kind=kind,
        context=context,
        language=language,
        from_name=from_name,
        reply_to=reply_to,
        dedup_key=dedup_key,
        subject=subject,
        text=text,
        html=html,
    )
    if dedup_key is not None:
        # The unique key, not an exists() check, is what keeps it single under races.
        try:
            with transaction.atomic():
                email.save()
        except IntegrityError:
            return None
    else:
        email.save()
    _enqueue_send_on_commit([email.pk])
    return email


def emails_queue_bulk(*, emails: Sequence[Email]) -> list[Email]:
    """Write many outbox rows in one INSERT (no dedup keys) and send them after commit."""
    if not emails:
        return []
    created = Email.objects.bulk_create(list(emails))
    _enqueue_send_on_commit([e.pk for e in created if e.pk is not None])
    return created


def _backoff(attempts: int) -> timedelta:
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return timedelta(minutes=BACKOFF_MINUTES[index])


def _message(
    email: Email, subject: str, text: str, html: str, connection
) -> EmailMultiAlternatives:
    from_email = settings.DEFAULT_FROM_EMAIL
    if email.from_name:
        # The shop's name with the instance's address (which may itself carry a name).
        from_email = formataddr((email.from_name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        connection=connection,
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _claim(email_id: int, now: datetime) -> bool:
    return bool(
        Email.objects.filter(pk=email_id, status=EmailStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        # While sending, next_attempt_at records when the claim was taken.
        .update(status=EmailStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    )


def email_send(*, email_id: int, now: datetime | None = None, connection=None) -> bool:
    """Send one queued, due email. True when this call sent it.

    Never raises for a delivery problem: the row goes back to `queued` with a later
    `next_attempt_at`, or to `failed` after MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    if not _claim(email_id, now):
        return False  # already sent, being sent by someone else, or not due yet
    email = Email.objects.get(pk=email_id)
    try:
        subject, text, html = render_email(email)
        _message(email, subject, text, html, connection).send()
    except Exception as exc:  # SMTP down, refused recipient, template error...
        logger.warning("email %s not sent (attempt %s): %s", email.pk, email.attempts, exc)
        final = email.attempts >= MAX_ATTEMPTS
        Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
            status=EmailStatus.FAILED if final else EmailStatus.QUEUED,
            next_attempt_at=None if final else now + _backoff(email.attempts),
            last_error=str(exc)[:2000],
        )
        return False
    # The crash window: the server has the message, the row still says `sending`.
    Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
        status=EmailStatus.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        subject=subject[:300],
        text=text,
        html=html,
        last_error="",
    )
    return True


def emails_send(*, email_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send the given emails that are still queued and due, over one mail connection."""
    now = now or timezone.now()
    ids = sorted(set(email_ids))
    sent = 0
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:  # the rows stay queued; each send below records the failure
        logger.warning("mail server unreachable: %s", exc)
        connection = None
    try:
        for email_id in ids:
            sent += email_send(email_id=email_id, now=now, connection=connection)
    finally:
        if connection is not None:
            try:
                connection.close()
            except Exception:  # closing a broken connection must not hide the sends
                logger.debug("closing mail connection failed", exc_info=True)
    return sent


def emails_send_due(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Send every queued email that is due (the worker's catch-up); returns how many were sent.

    Also gives up on rows stuck in `sending` (see the module docstring).
    """
    now = now or timezone.now()
    Email.objects.filter(
        status=EmailStatus.SENDING, next_attempt_at__lt=now - STALE_SENDING
    ).update(
        status=EmailStatus.FAILED,
        last_error="interrupted while sending; not retried so that it is not sent twice",
    )
    total = 0
    while True:
        ids = list(
            Email.objects.filter(status=EmailStatus.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)[: min(SEND_BATCH, limit - total)]
        )
        if not ids:
            return total
        sent = emails_send(email_ids=ids, now=now)
        total += sent
        if sent == 0 or total >= limit:
            return total
