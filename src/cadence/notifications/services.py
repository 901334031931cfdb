"""The email outbox: queue rows with the event, send them later, at least once, never lost.

Queueing writes an `Email` row in the caller's transaction and enqueues the send task only
when that transaction commits, so a rolled-back event sends nothing and a mail server outage
loses nothing (the row waits, with retries and backoff).

Sending claims a row with a guarded UPDATE (queued -> sending) that also gives the claimer a
lease (`lease_until`, `EMAIL_SEND_LEASE_SECONDS`, 5 minutes by default), hands the message
to Django's mail layer, then marks it sent. Two live senders never send the same row: only
one UPDATE wins. A sender that dies (crash, SIGKILL, lost machine) leaves its row in
`sending`; once the lease has expired the row is claimed again and sent by the normal path
(`emails_send_due`, the worker's catch-up and `cadence tick`). Each claim counts as an
attempt, so a row that kills its sender every time still ends `failed` after MAX_ATTEMPTS.

So an email is sent at least once. It can be sent twice only when the sender dies between
the mail server accepting the message and the UPDATE marking the row sent (milliseconds).
Every send of a row carries the same `Message-ID` header (`message_id`, derived from the row),
so mail clients and servers treat the second copy as the duplicate it is and drop it.

An operator requeues failed rows (`emails_requeue`, the staff outbox page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cadence.bulk import insert_rows
from cadence.notifications.after_commit import enqueue_on_commit
from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.rendering import render_email

logger = logging.getLogger("cadence.notifications")

MAX_ATTEMPTS = 8
# Minutes to wait after the n-th failed attempt (the last value repeats).
BACKOFF_MINUTES = (1, 5, 15, 30, 60, 120, 240)
SEND_BATCH = 200


def _enqueue_send_on_commit(email_ids: list[int]) -> None:
    if not email_ids:
        return
    # The task module imports this one.
    from cadence.notifications.tasks import emails_send_task

    # Should the enqueue fail, the rows are safe: the worker's catch-up sends them.
    enqueue_on_commit(emails_send_task, email_ids=email_ids)


def emails_send_after_commit(*, email_ids: list[int]) -> None:
    """Send these outbox rows (written in the current transaction) once it commits; for
    services that write rows themselves (e.g. in one bulk INSERT) rather than through
    `email_queue` / `emails_queue_bulk`."""
    _enqueue_send_on_commit(list(email_ids))


def email_build(
    *,
    to: str,
    kind: str,
    context: dict[str, Any] | None = None,
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
    context: dict[str, Any] | None = None,
    language: str = "en",
    from_name: str = "",
    reply_to: str = "",
    dedup_key: str | None = None,
    subject: str = "",
    text: str = "",
    html: str = "",
    send: bool = True,
) -> Email | None:
    """Write one outbox row in the current transaction; send it after commit (with
    `send=False` the caller asks for the send itself, `emails_send_after_commit`).

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
    if send:
        _enqueue_send_on_commit([email.pk])
    return email


def emails_queue_bulk(*, emails: Sequence[Email]) -> list[Email]:
    """Write many outbox rows in one INSERT (no dedup keys) and send them after commit."""
    if not emails:
        return []
    created = Email.objects.bulk_create(list(emails))
    _enqueue_send_on_commit([e.pk for e in created if e.pk is not None])
    return created


# The columns of an outbox row given by `emails_queue_rows`, in the order of its tuples.
EMAIL_COLUMNS = ("to", "kind", "context", "language", "from_name", "reply_to")


def emails_queue_rows(
    *, rows: Sequence[tuple[Any, ...]], now: datetime, send: bool = True
) -> list[int]:
    """Write outbox rows (values for EMAIL_COLUMNS; no dedup keys) in one INSERT and send
    them after commit: `emails_queue_bulk` without a model instance per email, for a batch
    of thousands (placement's). Returns the new ids.

    With `send=False` the caller asks for the send itself (`emails_send_after_commit`), once
    for the rows of many small transactions; rows it never asks for are sent by the worker's
    catch-up, as every queued row is."""
    email_ids = insert_rows(Email, EMAIL_COLUMNS, rows, now)
    if send:
        _enqueue_send_on_commit(email_ids)
    return email_ids


def _backoff(attempts: int) -> timedelta:
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return timedelta(minutes=BACKOFF_MINUTES[index])


def send_lease() -> timedelta:
    """How long a sender owns a row it claimed (setting `EMAIL_SEND_LEASE_SECONDS`)."""
    return timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)


def message_id(email: Email) -> str:
    """The `Message-ID` every send of this row carries, so that a copy sent twice (see the
    module docstring) is recognised as one message. Derived from the row only: its id, and its
    creation time so that a database started afresh never reuses an earlier message's id. The
    domain is the instance's sender address's (setting `EMAIL_MESSAGE_ID_DOMAIN` overrides)."""
    domain = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "") or (
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    )
    stamp = f".{email.created_at:%Y%m%d%H%M%S%f}" if email.created_at else ""
    return f"<cadence-email-{email.pk}{stamp}@{domain}>"


def _message(
    email: Email, subject: str, text: str, html: str, connection: BaseEmailBackend | None
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
        headers={"Message-ID": message_id(email)},
        connection=connection,
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _claimable(now: datetime) -> Q:
    """Rows a sender may claim at `now`: queued and due, or left in `sending` by a sender
    whose lease has expired (taken for dead) and with attempts left."""
    due = Q(status=EmailStatus.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=EmailStatus.SENDING, attempts__lt=MAX_ATTEMPTS) & (
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )
    return due | abandoned


def _claim(email_id: int, now: datetime) -> Email | None:
    """Take the row for this sender until `now + send_lease()`; None when it is not ours.

    The claim is one guarded UPDATE, so of two senders only one gets the row. Reclaiming an
    expired lease is what makes the outbox at-least-once: the previous sender may have died
    before or after the mail server accepted the message; we cannot tell, so we send again,
    with the same Message-ID (a duplicate is possible only in the second case). The claim is
    one more attempt, which bounds a row that crashes its sender every time."""
    # The lease runs from the real clock when `now` lags behind it (a tick passes the moment
    # it started, maybe minutes before it gets to the emails), so a live sender always gets
    # its full lease; a `now` ahead of the clock (tests, catch-up) is taken as it is.
    lease_until = max(now, timezone.now()) + send_lease()
    claimed = (
        Email.objects.filter(pk=email_id)
        .filter(_claimable(now))
        .update(
            status=EmailStatus.SENDING,
            attempts=F("attempts") + 1,
            lease_until=lease_until,
            next_attempt_at=None,
        )
    )
    if not claimed:
        return None
    return Email.objects.get(pk=email_id)


def email_send(
    *, email_id: int, now: datetime | None = None, connection: BaseEmailBackend | None = None
) -> bool:
    """Send one email that is queued and due (or whose sender's lease expired). True when this
    call sent it.

    Never raises for a delivery problem: the row goes back to `queued` with a later
    `next_attempt_at`, or to `failed` after MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    email = _claim(email_id, now)
    if email is None:
        return False  # already sent, being sent by a live sender, or not due yet
    # Our claim is (sending, this attempt number): a sender that outlived its lease must not
    # move a row that another sender has claimed since.
    ours = Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING, attempts=email.attempts)
    try:
        subject, text, html = render_email(email)
        _message(email, subject, text, html, connection).send()
    except Exception as exc:  # SMTP down, refused recipient, template error...
        logger.warning("email %s not sent (attempt %s): %s", email.pk, email.attempts, exc)
        final = email.attempts >= MAX_ATTEMPTS
        ours.update(
            status=EmailStatus.FAILED if final else EmailStatus.QUEUED,
            next_attempt_at=None if final else now + _backoff(email.attempts),
            lease_until=None,
            last_error=str(exc)[:2000],
        )
        return False
    # The duplicate window: the server has the message, the row still says `sending`. A crash
    # here sends it again after the lease, with the same Message-ID. Any sender's success
    # marks the row sent, hence the guard on the status only.
    Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
        status=EmailStatus.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        lease_until=None,
        subject=subject[:300],
        text=text,
        html=html,
        last_error="",
    )
    return True


def emails_send(*, email_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send the given emails that are claimable (queued and due, or with an expired lease),
    over one mail connection. Without `now`, each email's claim reads the clock, so a long
    batch gives every email its full lease."""
    ids = sorted(set(email_ids))
    sent = 0
    connection: BaseEmailBackend | None
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


def emails_send_due(
    *,
    now: datetime | None = None,
    limit: int = 2000,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Send every email that is due, including those whose sender died while sending (its
    lease expired); returns how many were sent. The worker's catch-up and `cadence tick`.
    `on_batch` is told how many each batch sent (a terminal's progress bar).

    A row abandoned in `sending` with no attempt left is marked `failed` (see `_claim`).
    """
    clock = now or timezone.now()
    Email.objects.filter(
        status=EmailStatus.SENDING, attempts__gte=MAX_ATTEMPTS, lease_until__lte=clock
    ).update(
        status=EmailStatus.FAILED,
        lease_until=None,
        last_error=f"interrupted while sending, {MAX_ATTEMPTS} times; given up",
    )
    total = 0
    while True:
        ids = list(
            Email.objects.filter(_claimable(clock))
            .order_by("pk")
            .values_list("pk", flat=True)[: min(SEND_BATCH, limit - total)]
        )
        if not ids:
            return total
        sent = emails_send(email_ids=ids, now=now)
        total += sent
        if on_batch is not None:
            on_batch(sent)
        if sent == 0 or total >= limit:
            return total


def emails_requeue(*, ids: Iterable[int] | None = None) -> int:
    """Put failed emails back in the queue, as new (attempts from zero, due now), and send
    them after commit; `ids=None` requeues every failed email. One transaction. Emails that
    are not failed are left alone. Returns how many were requeued."""
    with transaction.atomic():
        failed = Email.objects.filter(status=EmailStatus.FAILED)
        if ids is not None:
            failed = failed.filter(pk__in=list(ids))
        # Locked so that the ids sent after commit are exactly the rows this call changed.
        requeued = list(failed.order_by("pk").select_for_update().values_list("pk", flat=True))
        for start in range(0, len(requeued), SEND_BATCH):
            batch = requeued[start : start + SEND_BATCH]
            Email.objects.filter(pk__in=batch, status=EmailStatus.FAILED).update(
                status=EmailStatus.QUEUED, attempts=0, next_attempt_at=None, lease_until=None
            )
            _enqueue_send_on_commit(batch)
    return len(requeued)
