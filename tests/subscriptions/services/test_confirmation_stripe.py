"""Charging at confirmation, end to end: a Stripe subscription is placed and confirmed by the
engine, and its card is charged off-session by localstripe through the real SDK."""

from __future__ import annotations

import pytest

from cadence.money import to_minor_units
from cadence.notifications.models import Email
from cadence.orders.models import PaymentState
from cadence.payments import cards
from cadence.payments.gateways import ChargeStatus
from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrderState
from tests.support import factories
from tests.support.stripe import (
    card_payment_method,
    charge_as_confirmation_does,
    confirm,
    stripe_world,
)

pytestmark = pytest.mark.django_db


def test_successful_charge(localstripe):
    """4242…: the order's final total is charged off-session; the payment and order are paid
    and the buyer gets the confirmation email."""
    w = stripe_world(card="4242424242424242")

    confirm(w)

    assert (w.payment.state, w.order.payment_state) == (PaymentState.PAID, PaymentState.PAID)
    intents = localstripe.payment_intents(payment=w.payment)
    assert [(pi["id"], pi["status"]) for pi in intents] == [
        (w.payment.gateway_reference, "succeeded")
    ]
    assert intents[0]["amount"] == to_minor_units(w.order.total, "EUR") == 1080
    assert intents[0]["customer"] == w.buyer.stripe_customer.stripe_customer_id
    assert Email.objects.filter(kind="confirmation", to="ann@example.org").count() == 1


def test_decline_at_charge_time(localstripe):
    """4000 0000 0000 0341 is accepted when saved and declined when charged: the payment
    fails with the reason, the buyer gets the failed-payment email, the shop's summary lists
    it."""
    w = stripe_world(card="4000000000000341")

    summary = confirm(w)

    assert (w.payment.state, w.order.payment_state) == (PaymentState.FAILED, PaymentState.FAILED)
    assert w.payment.error == "Your card was declined."
    assert w.proxy.reason == "Your card was declined."
    assert summary.payment_failed == {w.proxy.pk: "Your card was declined."}
    assert Email.objects.filter(kind="failed_payment", to="ann@example.org").count() == 1
    assert [pi["status"] for pi in localstripe.payment_intents(payment=w.payment)] == [
        "requires_payment_method"
    ]


def test_authentication_required_is_not_a_success(localstripe, client):
    """4000 0025 0000 3155: the charge waits for the buyer's authentication (not paid); the
    buyer is emailed a link to the page that completes it, and completing it there pays."""
    w = stripe_world(card="4000002500003155")

    summary = confirm(w)

    assert w.payment.state == PaymentState.REQUIRES_AUTHORIZATION
    assert w.order.payment_state == PaymentState.REQUIRES_AUTHORIZATION
    assert summary.requires_action == [w.proxy.pk] and summary.paid == []
    email = Email.objects.get(kind="authentication")
    assert email.context["auth_url"].endswith(f"/pay/authenticate/{w.payment.pk}/")
    [intent] = localstripe.payment_intents(payment=w.payment)
    assert intent["status"] == "requires_action"

    # The buyer opens the link: the page carries the intent's client secret for Stripe.js.
    client.force_login(w.buyer)
    page = client.get(f"/pay/authenticate/{w.payment.pk}/")
    assert intent["client_secret"] in page.content.decode()
    # Stripe.js (localstripe's) completes 3-D Secure with the publishable key, then the page
    # posts back and the server asks Stripe for the outcome.
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{intent['id']}/_authenticate?success=true",
        {"key": "pk_test_cadence", "client_secret": intent["client_secret"]},
        key="",
    )
    done = client.post(f"/pay/authenticate/{w.payment.pk}/")

    assert done.status_code == 302
    w.payment.refresh_from_db()
    w.order.refresh_from_db()
    assert (w.payment.state, w.order.payment_state) == (PaymentState.PAID, PaymentState.PAID)


def test_authentication_page_is_the_buyers_only(localstripe, client):
    """Another user cannot open a buyer's authentication page."""
    w = stripe_world(card="4000002500003155")
    confirm(w)
    client.force_login(factories.user("mallory@example.org"))

    assert client.get(f"/pay/authenticate/{w.payment.pk}/").status_code == 404


def test_consent_withdrawn_by_a_default_card_change(localstripe):
    """The buyer changes their default card after placement: consent is withdrawn, so
    nothing is charged and the payment fails with "no authorised card"."""
    w = stripe_world(card="4242424242424242")
    second = cards.card_save(
        user=w.buyer, stripe_payment_method_id=card_payment_method("5555555555554444")
    )
    cards.card_set_default(user=w.buyer, card=second)

    confirm(w)

    assert w.payment.state == PaymentState.FAILED
    assert w.payment.error == "no authorised card"
    assert localstripe.payment_intents(payment=w.payment) == []
    assert Email.objects.filter(kind="failed_payment").count() == 1


def test_confirmation_interrupted_after_the_charge_charges_once(localstripe):
    """A confirmation that charged and died before recording is re-run: exactly one succeeded
    PaymentIntent exists for the order, and the payment is recorded paid."""
    w = stripe_world(card="4242424242424242")
    first = charge_as_confirmation_does(w)
    assert first.status == ChargeStatus.SUCCEEDED
    w.proxy.refresh_from_db()
    assert w.proxy.state == ProxyOrderState.PLACED  # nothing recorded

    confirm(w)

    intents = localstripe.payment_intents(payment=w.payment)
    assert [(pi["id"], pi["status"]) for pi in intents] == [(first.reference, "succeeded")]
    assert (w.payment.state, w.payment.gateway_reference) == (PaymentState.PAID, first.reference)


def test_interrupted_before_even_the_intent_id_was_written_charges_once(localstripe):
    """Even when the crash came before the PaymentIntent's id reached our database, the re-run
    gets the first PaymentIntent back through the idempotency key derived from the payment."""
    w = stripe_world(card="4242424242424242")
    first = charge_as_confirmation_does(w)
    Payment.objects.filter(pk=w.payment.pk).update(gateway_reference="")

    confirm(w)

    intents = localstripe.payment_intents(payment=w.payment)
    assert [(pi["id"], pi["status"]) for pi in intents] == [(first.reference, "succeeded")]
    assert w.payment.state == PaymentState.PAID


def test_stripe_unreachable_leaves_the_order_to_do_and_the_next_run_charges_once(
    localstripe, settings
):
    """A timeout or connection error during confirmation leaves the order placed; the next
    run charges it, once."""
    w = stripe_world(card="4242424242424242")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    summary = confirm(w)

    assert summary.retry == [w.proxy.pk]
    assert (w.proxy.state, w.payment.state) == (ProxyOrderState.PLACED, PaymentState.PENDING)
    settings.STRIPE_API_BASE = localstripe.base
    confirm(w)
    assert w.payment.state == PaymentState.PAID
    assert [pi["status"] for pi in localstripe.payment_intents(payment=w.payment)] == ["succeeded"]
