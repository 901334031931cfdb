"""Stripe webhooks at /stripe/webhook: signature checked, each event applied once."""

from __future__ import annotations

import time

import pytest

from cadence.orders.models import PaymentState
from cadence.payments import cards
from cadence.payments.models import Payment, SavedCard, StripeEvent
from tests.support import factories
from tests.support.stripe import (
    WEBHOOK_SECRET,
    authenticated_event,
    card_payment_method,
    confirm,
    post,
    signed,
    stripe_world,
)

pytestmark = pytest.mark.django_db


def test_bad_signature_is_refused_and_nothing_written(localstripe, client):
    """A body signed with another secret, a tampered body, or no signature: 400, no event
    recorded."""
    body, signature = signed(
        {"id": "evt_1", "type": "payment_intent.succeeded", "data": {}}, secret="whsec_other"
    )
    good_body, good_signature = signed(
        {"id": "evt_2", "type": "x", "data": {}}, secret=WEBHOOK_SECRET
    )

    assert post(client, body, signature).status_code == 400
    assert post(client, good_body + b" ", good_signature).status_code == 400
    assert post(client, good_body, None).status_code == 400
    assert not StripeEvent.objects.exists()


def test_payment_authenticated_later_is_paid_once_and_a_replay_changes_nothing(localstripe, client):
    """payment_intent.succeeded after the buyer authenticated marks the payment and the order
    paid; the same event delivered again is acknowledged and not applied again."""
    w = stripe_world(card="4000002500003155")
    confirm(w)
    event = authenticated_event(localstripe, w, success=True)
    body, signature = signed(event)

    assert post(client, body, signature).status_code == 200

    w.payment.refresh_from_db()
    w.order.refresh_from_db()
    assert (w.payment.state, w.order.payment_state) == (PaymentState.PAID, PaymentState.PAID)
    # Put the payment back to prove the replay is not applied a second time.
    Payment.objects.filter(pk=w.payment.pk).update(state=PaymentState.REQUIRES_AUTHORIZATION)
    assert post(client, body, signature).status_code == 200
    w.payment.refresh_from_db()
    assert w.payment.state == PaymentState.REQUIRES_AUTHORIZATION
    assert StripeEvent.objects.filter(stripe_event_id=event["id"]).count() == 1


def test_failed_authentication_fails_the_payment(localstripe, client):
    """payment_intent.payment_failed after a failed authentication marks the payment failed."""
    w = stripe_world(card="4000002500003155")
    confirm(w)
    body, signature = signed(authenticated_event(localstripe, w, success=False))

    assert post(client, body, signature).status_code == 200

    w.payment.refresh_from_db()
    w.order.refresh_from_db()
    assert (w.payment.state, w.order.payment_state) == (PaymentState.FAILED, PaymentState.FAILED)


def test_payment_events_leave_payments_not_awaiting_authentication_alone(localstripe, client):
    """An event for a payment that confirmation already recorded (here: paid) changes
    nothing: only payments awaiting authentication are decided by webhooks."""
    w = stripe_world(card="4242424242424242")
    confirm(w)
    [intent] = localstripe.payment_intents(payment=w.payment)
    body, signature = signed(
        {"id": "evt_late_fail", "type": "payment_intent.payment_failed", "data": {"object": intent}}
    )

    assert post(client, body, signature).status_code == 200

    w.payment.refresh_from_db()
    assert w.payment.state == PaymentState.PAID


def test_card_automatically_updated_refreshes_the_saved_card(localstripe, client):
    """payment_method.automatically_updated (the bank issued a new expiry) refreshes the card."""
    buyer = factories.user("ann@example.org")
    card = cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    pm = localstripe.request("GET", f"/v1/payment_methods/{card.stripe_payment_method_id}")
    pm["card"].update(exp_month=3, exp_year=2038, last4="4243")
    body, signature = signed(
        {"id": "evt_card_1", "type": "payment_method.automatically_updated", "data": {"object": pm}}
    )

    assert post(client, body, signature).status_code == 200

    card = SavedCard.objects.get()
    assert (card.exp_month, card.exp_year, card.last4) == (3, 2038, "4243")


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_the_signed_webhook_to_the_live_server(localstripe, live_server):
    """End to end: localstripe itself signs and posts payment_intent.succeeded to
    /stripe/webhook once the buyer authenticated; the payment becomes paid."""
    w = stripe_world(card="4000002500003155")
    confirm(w)
    hook = "/_config/webhooks/cadence_test"
    localstripe.request(
        "POST",
        hook,
        {
            "url": f"{live_server.url}/stripe/webhook",
            "secret": WEBHOOK_SECRET,
            "events": ["payment_intent.succeeded"],
        },
    )
    try:
        event = authenticated_event(localstripe, w, success=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            w.payment.refresh_from_db()
            if w.payment.state == PaymentState.PAID:
                break
            time.sleep(0.2)
    finally:
        # Later tests' events must not be sent to a server that is gone (or reused).
        localstripe.request(
            "POST", hook, {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET, "events": []}
        )

    w.order.refresh_from_db()
    assert (w.payment.state, w.order.payment_state) == (PaymentState.PAID, PaymentState.PAID)
    # (Events of earlier tests still in localstripe's queue may arrive too; they change nothing.)
    assert StripeEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
