"""The email outbox: rows written with the event, sent after commit through a real SMTP
server, in the buyer's language, with retries when the server is down; a row whose sender
died is sent again once its lease expires, under the same Message-ID; failed rows can be
requeued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.rendering import render_email
from cadence.notifications.services import (
    MAX_ATTEMPTS,
    email_queue,
    email_send,
    emails_requeue,
    emails_send_after_commit,
    emails_send_due,
    message_id,
    send_lease,
)
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_placement_email_arrives_in_french_from_the_shop_with_crossed_out_quantities(
    world, smtp_server, settings
):
    """The placement email is rendered in the buyer's language (HTML and text), comes from
    "<shop name> <default address>", replies to the shop, and crosses out the asked quantity
    where it was reduced."""
    settings.DEFAULT_FROM_EMAIL = "orders@cadence.test"
    world.variants[0].on_hand = 1
    world.variants[0].save()
    customer = factories.customer(world.shop, language="fr", email="lea@example.org")
    world.subscribe([(world.variants[0], 3)], customer=customer)
    place_cycle(order_cycle=world.cycle)

    assert emails_send_due() == 2  # the buyer's email and the shop's summary

    (message,) = smtp_server.to("lea@example.org")
    assert message["From"].addresses[0].display_name == world.shop.name
    assert message["From"].addresses[0].addr_spec == "orders@cadence.test"
    assert message["Reply-To"] == world.shop.contact_email
    html, text = smtp_server.html(message), smtp_server.text(message)
    assert "<del" in html and ">3</del> 1" in html
    # Rendered under the French locale: French money formatting (the words come from the
    # catalogue, translated separately).
    assert "10,00\u00a0€" in text and "10,00\u00a0€" in html
    assert Email.objects.get(to="lea@example.org").status == EmailStatus.SENT


def test_queued_email_is_sent_after_commit_only(smtp_server, django_capture_on_commit_callbacks):
    """Nothing is sent while the transaction is open; the send task runs on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            email = email_queue(to="a@example.org", kind="custom", subject="Hi", text="Body")
            assert smtp_server.messages == []
    assert [m["Subject"] for m in smtp_server.messages] == ["Hi"]
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.sent_at is not None


def test_an_email_queued_without_send_waits_for_its_caller(
    smtp_server, django_capture_on_commit_callbacks
):
    """`send=False`: the row is written but no send is scheduled; the caller's
    `emails_send_after_commit` sends it (placement sends a chunk's emails with the shop's
    summary)."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            email = email_queue(
                to="a@example.org", kind="custom", subject="Hi", text="B", send=False
            )
    assert callbacks == [] and smtp_server.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            emails_send_after_commit(email_ids=[email.pk])
    assert [m["Subject"] for m in smtp_server.messages] == ["Hi"]


def test_a_dedup_key_makes_an_email_exist_once(db):
    """Two queues with the same key write one row."""
    assert email_queue(to="a@example.org", kind="x", subject="s", text="t", dedup_key="k")
    assert email_queue(to="a@example.org", kind="x", subject="s", text="t", dedup_key="k") is None
    assert Email.objects.filter(dedup_key="k").count() == 1


def test_server_down_retries_with_backoff_and_sends_once(db, smtp_server, settings):
    """With the server down the email waits (attempts, next_attempt_at); when it is back the
    email goes out once, and sending again sends nothing."""
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    now = timezone.now()
    assert email_send(email_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert email.next_attempt_at > now and email.last_error

    settings.EMAIL_PORT = good_port
    assert emails_send_due(now=now) == 0  # not due yet
    assert emails_send_due(now=email.next_attempt_at) == 1
    assert emails_send_due(now=email.next_attempt_at + timedelta(hours=1)) == 0
    assert len(smtp_server.messages) == 1


def _as_if_the_sender_died(email: Email, *, claimed_at) -> None:
    """The row as a sender leaves it when it is killed after claiming it: `sending`, one
    attempt counted, its lease running from the claim."""
    Email.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENDING,
        attempts=F("attempts") + 1,
        lease_until=claimed_at + send_lease(),
    )


def test_every_send_carries_the_rows_message_id(db, smtp_server, settings):
    """A normal send sets the Message-ID derived from the row (the instance's domain), the
    same one any later send of that row would carry."""
    settings.DEFAULT_FROM_EMAIL = "Cadence <orders@cadence.test>"
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")

    assert email_send(email_id=email.pk) is True

    (message,) = smtp_server.messages
    assert message["Message-ID"] == message_id(email)
    assert message_id(email).startswith(f"<cadence-email-{email.pk}.")
    assert message_id(email).endswith("@cadence.test>")


def test_a_sending_row_whose_lease_expired_is_sent_again_with_the_same_message_id(db, smtp_server):
    """A sender that died after the mail server accepted the message, before marking the row
    sent, leaves it `sending`. Once its lease has expired the catch-up claims it and sends it
    again, with the same Message-ID, so the buyer's mail client drops the copy; the row ends
    sent, both attempts counted."""
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    t0 = timezone.now()
    assert email_send(email_id=email.pk, now=t0) is True  # the server has it...
    # ...but the sender died before marking the row sent: it is still `sending`, leased.
    Email.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENDING, lease_until=t0 + send_lease(), sent_at=None
    )

    assert emails_send_due(now=t0 + send_lease() - timedelta(seconds=1)) == 0  # lease live
    assert len(smtp_server.messages) == 1
    assert emails_send_due(now=t0 + send_lease()) == 1

    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"] == message_id(email)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.lease_until) == (EmailStatus.SENT, 2, None)


def test_a_sending_row_whose_sender_is_alive_is_not_sent(db, smtp_server):
    """While the lease runs, the row belongs to its sender: neither the catch-up nor a send
    task sends it."""
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    t0 = timezone.now()
    _as_if_the_sender_died(email, claimed_at=t0)

    assert emails_send_due(now=t0 + timedelta(minutes=1)) == 0
    assert email_send(email_id=email.pk, now=t0 + timedelta(minutes=1)) is False

    assert smtp_server.messages == []
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENDING, 1)


class LeaseRecordingBackend(BaseEmailBackend):
    """A mail backend that notes, while the (only) row's message is being sent, its lease."""

    leases: list = []

    def send_messages(self, messages):
        self.leases += [Email.objects.get().lease_until for _message in messages]
        return len(messages)


def test_a_claim_leases_the_row_from_the_real_clock_when_now_lags(db, settings):
    """A tick passes the moment it started; a claim made minutes later still owns the row for
    a full lease from the moment it was made, not from the tick's start."""
    settings.EMAIL_BACKEND = "tests.notifications.test_services.LeaseRecordingBackend"
    LeaseRecordingBackend.leases = []
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    tick_started = timezone.now() - timedelta(minutes=10)
    before = timezone.now()

    assert email_send(email_id=email.pk, now=tick_started) is True

    (lease_until,) = LeaseRecordingBackend.leases
    assert lease_until >= before + send_lease()


def test_a_row_that_kills_its_sender_every_time_ends_failed(db, smtp_server):
    """Each claim is an attempt: a row abandoned in `sending` with no attempt left is given up
    (failed, with the reason) rather than claimed forever."""
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    Email.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS - 1)
    t0 = timezone.now()
    _as_if_the_sender_died(email, claimed_at=t0)

    assert emails_send_due(now=t0 + send_lease()) == 0

    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and "interrupted while sending" in email.last_error
    assert smtp_server.messages == []


def test_requeue_puts_failed_emails_back_and_sends_them_after_commit(
    db, smtp_server, django_capture_on_commit_callbacks
):
    """`emails_requeue` turns the given failed emails (or every failed one) back into fresh
    queued rows, in one transaction, and they are sent once it commits; rows that did not
    fail are left alone."""
    failed = [
        email_queue(to=f"f{i}@example.org", kind="x", subject=f"Failed {i}", text="t")
        for i in range(3)
    ]
    Email.objects.filter(pk__in=[e.pk for e in failed]).update(
        status=EmailStatus.FAILED, attempts=MAX_ATTEMPTS, last_error="550 mailbox unavailable"
    )
    queued = email_queue(to="q@example.org", kind="x", subject="Queued", text="t")
    later = timezone.now() + timedelta(hours=1)
    Email.objects.filter(pk=queued.pk).update(next_attempt_at=later)

    with django_capture_on_commit_callbacks(execute=True):
        assert emails_requeue(ids=[failed[0].pk, queued.pk]) == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Failed 0"]
    failed[0].refresh_from_db()
    assert (failed[0].status, failed[0].attempts) == (EmailStatus.SENT, 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert emails_requeue() == 2
    assert sorted(m["Subject"] for m in smtp_server.messages[1:]) == ["Failed 1", "Failed 2"]
    queued.refresh_from_db()
    assert (queued.status, queued.next_attempt_at) == (EmailStatus.QUEUED, later)
    assert emails_requeue() == 0


def test_buyers_without_an_account_are_told_to_contact_the_shop(world, settings):
    """A buyer with a user account gets a link to their orders; one without is told how to
    contact the shop instead. The "changes allowed until" time is shown where allowed."""
    settings.BASE_URL = "https://cadence.test"
    world.shop.allow_order_changes = True
    world.shop.save()
    member = world.subscribe(customer=factories.customer(world.shop, user=factories.user()))
    guest = world.subscribe()
    place_cycle(order_cycle=world.cycle)

    def text_for(proxy):
        email = Email.objects.get(kind="placement", to=proxy.subscription.customer.email)
        return render_email(email)[1]

    member_text, guest_text = text_for(member), text_for(guest)
    assert "https://cadence.test/account/" in member_text
    assert "until orders close on" in member_text
    assert "https://cadence.test" not in guest_text
    assert f"contact {world.shop.name} at {world.shop.contact_email}" in guest_text
