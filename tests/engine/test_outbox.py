"""The email outbox: rows written with the event, sent after commit through a real SMTP
server, in the buyer's language, once, with retries when the server is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.rendering import render_email
from cadence.notifications.services import email_queue, email_send, emails_send_due
from cadence.subscriptions.services.placement import place_cycle
from tests import factories

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


def test_an_email_interrupted_while_sending_is_not_sent_again(db, smtp_server):
    """A row left in `sending` by a crash is given up (failed), never resent blindly."""
    email = email_queue(to="a@example.org", kind="x", subject="s", text="t")
    stale = timezone.now() - timedelta(hours=1)
    Email.objects.filter(pk=email.pk).update(status=EmailStatus.SENDING, next_attempt_at=stale)

    assert emails_send_due() == 0

    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and smtp_server.messages == []


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
