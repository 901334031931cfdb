"""The Stripe gateway's own rules, at the edge of confirmation."""

from __future__ import annotations

import pytest

from cadence.payments.gateways import ChargeRequest, ChargeStatus
from cadence.payments.models import Payment
from cadence.payments.services import payment_charge
from tests.support.stripe import charge_as_confirmation_does, stripe_world

pytestmark = pytest.mark.django_db


def test_buyer_without_account_is_not_charged(localstripe):
    """No user account: FAILED "no authorised card", nothing asked of Stripe."""
    result = payment_charge(
        ChargeRequest(
            payment_id=1,
            method_kind="stripe",
            amount=10,
            currency="EUR",
            user_id=None,
            shop_id=1,
            stripe_account="",
            description="",
        )
    )

    assert (result.status, result.error) == (ChargeStatus.FAILED, "no authorised card")


def test_missing_configuration_means_retry_later(localstripe, settings):
    """Without STRIPE_SECRET_KEY nothing is decided: RETRY, and no PaymentIntent exists."""
    w = stripe_world(card="4242424242424242")
    settings.STRIPE_SECRET_KEY = ""

    result = charge_as_confirmation_does(w)

    assert result.status == ChargeStatus.RETRY
    settings.STRIPE_SECRET_KEY = "sk_test_cadence"
    assert localstripe.payment_intents(payment=w.payment) == []


def test_charging_again_returns_the_first_outcome(localstripe):
    """A payment whose PaymentIntent is known is looked up, never charged again, and the
    PaymentIntent id is written on the payment as soon as it exists."""
    w = stripe_world(card="4242424242424242")

    first = charge_as_confirmation_does(w)
    second = charge_as_confirmation_does(w)

    assert first.status == second.status == ChargeStatus.SUCCEEDED
    assert first.reference == second.reference
    assert Payment.objects.get(pk=w.payment.pk).gateway_reference == first.reference
    assert len(localstripe.payment_intents(payment=w.payment)) == 1


def test_requires_action_carries_the_client_secret(localstripe):
    """An off-session charge needing 3-D Secure answers REQUIRES_ACTION with what the
    authentication page needs."""
    w = stripe_world(card="4000002500003155")

    result = charge_as_confirmation_does(w)

    assert result.status == ChargeStatus.REQUIRES_ACTION
    assert result.client_secret.startswith(result.reference + "_secret_")
