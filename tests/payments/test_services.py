"""The payment services' own rules, whatever interface calls them: payment methods, and the
charges of confirmed orders prepared for a batch and recorded."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from cadence.errors import ValidationFailed
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.orders.services import orders_confirm
from cadence.payments.gateways import ChargeRequest, ChargeResult, ChargeStatus, PreparedCharge
from cadence.payments.models import ChargeConsent, Payment, SavedCard, StripeCustomer
from cadence.payments.services import (
    charges_prepare,
    payment_method_update,
    payment_record_charge,
    payments_take_order_totals,
)
from tests.support import factories
from tests.support.api import make_order

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


# --- Charges prepared for a batch ---------------------------------------------------------


def _card_payment(world, buyer, *, language="fr", card=True, consent=True, reference=""):
    """A pending card payment of an order of `buyer` at the world's shop, with the buyer's
    default card, Stripe customer and consent to the shop as asked."""
    shop = world.shop
    customer = factories.customer(shop, buyer.email, user=buyer, language=language)
    order = make_order(shop, world.cycle, customer, world.variant, number=f"N{customer.pk}")
    order.user = buyer
    order.save(update_fields=["user"])
    method = factories.payment_method(shop, kind="stripe", name=f"Card {customer.pk}")
    payment = Payment.objects.create(
        order=order, method=method, amount=order.total, gateway_reference=reference
    )
    if card:
        SavedCard.objects.create(
            user=buyer,
            stripe_payment_method_id=f"pm_{buyer.pk}",
            usable_off_session=True,
            is_default=True,
        )
        StripeCustomer.objects.create(user=buyer, stripe_customer_id=f"cus_{buyer.pk}")
    if consent:
        ChargeConsent.objects.create(user=buyer, shop=shop, text="yes", given_at=timezone.now())
    return payment, order


def _request(payment, order, *, kind="stripe", with_account=True):
    return ChargeRequest(
        payment_id=payment.pk,
        method_kind=kind,
        amount=order.total,
        currency=order.currency,
        user_id=order.user_id if with_account else None,
        shop_id=order.shop_id,
        stripe_account="",
        description=f"#{order.number}",
    )


@pytest.fixture
def card_shop():
    shop = factories.shop("Ferme du Val")
    variant = factories.variant(shop, price="2.00", on_hand=100)
    return SimpleNamespace(
        shop=shop, variant=variant, cycle=factories.order_cycle(shop, variants=[variant])
    )


def test_a_batch_of_charges_is_prepared_from_a_few_queries(
    card_shop, django_assert_max_num_queries
):
    """Each buyer's card, Stripe customer and language are resolved into the charge; the
    queries do not grow with the batch."""
    requests = []
    for n in range(12):
        payment, order = _card_payment(card_shop, factories.user(f"b{n}@example.org"))
        requests.append(_request(payment, order))

    with django_assert_max_num_queries(5):
        prepared = charges_prepare(requests)

    first = prepared[requests[0].payment_id]
    assert isinstance(first, PreparedCharge)
    buyer_id = requests[0].user_id
    assert (first.payment_method_id, first.customer_id) == (f"pm_{buyer_id}", f"cus_{buyer_id}")
    assert first.language == "fr" and first.known_reference == ""
    assert len(prepared) == 12


def test_a_charge_without_consent_card_or_account_fails_unsent_in_the_buyers_language(
    card_shop,
):
    """Consent withdrawn, no saved card, no account: FAILED before any call, the reason in
    the buyer's language; a manual method is PENDING (collected by hand)."""
    no_consent = _card_payment(card_shop, factories.user("a@example.org"), consent=False)
    no_card = _card_payment(card_shop, factories.user("b@example.org"), card=False, language="en")
    no_account = _card_payment(card_shop, factories.user("c@example.org"))
    manual = _card_payment(card_shop, factories.user("d@example.org"))
    requests = [
        _request(*no_consent),
        _request(*no_card),
        _request(*no_account, with_account=False),
        _request(*manual, kind="manual"),
    ]

    prepared = charges_prepare(requests)

    outcomes = [prepared[r.payment_id] for r in requests]
    assert [o.status for o in outcomes] == [
        ChargeStatus.FAILED,
        ChargeStatus.FAILED,
        ChargeStatus.FAILED,
        ChargeStatus.PENDING,
    ]
    assert outcomes[0].error == "aucune carte autorisée"
    assert outcomes[1].error == "no authorised card"


def test_a_charge_already_made_is_looked_up_rather_than_made_again(card_shop):
    """A payment whose charge reference was written down (a crash before its outcome was
    recorded) is prepared as a look-up of that charge."""
    payment, order = _card_payment(
        card_shop, factories.user("a@example.org"), consent=False, reference="pi_known"
    )

    prepared = charges_prepare([_request(payment, order)])[payment.pk]

    assert isinstance(prepared, PreparedCharge) and prepared.known_reference == "pi_known"


def test_a_charge_outcome_is_recorded_on_its_payment(card_shop):
    """The final amount, the state, a failure's reason and the reference; the reference
    written down earlier stays when the outcome carries none."""
    payment, order = _card_payment(card_shop, factories.user("a@example.org"), reference="pi_1")
    now = timezone.now()

    state = payment_record_charge(
        payment=payment,
        amount=Decimal("7.00"),
        result=ChargeResult(ChargeStatus.FAILED, error="Carte refusée."),
        now=now,
    )

    payment.refresh_from_db()
    assert state == PaymentState.FAILED
    assert (payment.amount, payment.state, payment.error, payment.gateway_reference) == (
        Decimal("7.00"),
        PaymentState.FAILED,
        "Carte refusée.",
        "pi_1",
    )


def test_pending_payments_take_their_orders_final_total_and_confirmed_orders_are_left(
    card_shop,
):
    """Guarded writers: only pending payments and complete orders move, and the count says
    how many did."""
    (p1, o1), (p2, o2) = (
        _card_payment(card_shop, factories.user(f"{n}@example.org")) for n in "ab"
    )
    Order.objects.filter(pk=o1.pk).update(total=Decimal("9.10"))
    Order.objects.filter(pk=o2.pk).update(state=OrderState.CANCELED)
    Payment.objects.filter(pk=p2.pk).update(state=PaymentState.VOID)
    now = timezone.now()

    assert payments_take_order_totals(payment_ids=[p1.pk, p2.pk], now=now) == 1
    assert orders_confirm(order_ids=[o1.pk, o2.pk], now=now, payment_state="paid") == 1

    p1.refresh_from_db()
    o1.refresh_from_db()
    assert p1.amount == Decimal("9.10")
    assert (o1.state, o1.payment_state, o1.confirmed_at) == (OrderState.CONFIRMED, "paid", now)
    assert Order.objects.get(pk=o2.pk).state == OrderState.CANCELED
