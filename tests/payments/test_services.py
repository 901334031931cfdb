"""The payment method services' own rules, whatever interface calls them."""

from __future__ import annotations

import pytest

from cadence.errors import ValidationFailed
from cadence.payments.services import payment_method_update
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_the_kind_of_a_method_cannot_change():
    """Subscriptions were checked against the kind: a manual method stays manual."""
    method = factories.payment_method(factories.shop(), kind="manual")

    with pytest.raises(ValidationFailed) as failed:
        payment_method_update(payment_method=method, changes={"kind": "other"})

    assert failed.value.errors == {"kind": ["cannot be changed"]}
    method.refresh_from_db()
    assert method.kind == "manual"


def test_only_a_stripe_method_gets_a_connected_account_on_update():
    """Refused on a manual method; accepted on a Stripe one."""
    shop = factories.shop()
    manual = factories.payment_method(shop, kind="manual")
    stripe = factories.payment_method(shop, kind="stripe")

    with pytest.raises(ValidationFailed) as failed:
        payment_method_update(payment_method=manual, changes={"stripe_account": "acct_123"})
    payment_method_update(payment_method=stripe, changes={"stripe_account": "acct_123"})

    assert list(failed.value.errors) == ["stripe_account"]
    manual.refresh_from_db()
    stripe.refresh_from_db()
    assert (manual.stripe_account, stripe.stripe_account) == ("", "acct_123")
