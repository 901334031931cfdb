"""Edits of a subscription reach its placed orders of open cycles, part by part, unless
that part was changed by hand on the order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cadence.catalog.models import Variant
from cadence.orders.models import LineItem, OrderState, PaymentState
from cadence.subscriptions.services.lifecycle import subscription_update
from cadence.subscriptions.services.order_sync import propagate_subscription_changes
from tests.support import factories
from tests.support.subscriptions import place, subscribe, world

pytestmark = pytest.mark.django_db


def lines(order) -> dict[int, int]:
    return dict(order.line_items.values_list("variant_id", "quantity"))


def on_hand(variant) -> int:
    return Variant.objects.get(pk=variant.pk).on_hand


def setup():
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    return w, sub, order


def update(w, sub, **changes):
    return subscription_update(subscription=sub, changes=changes, now=w.now)


def test_quantity_increase_reserves_stock_and_recalculates():
    """2 → 5 apples: 3 more reserved, totals and the pending payment follow."""
    w, sub, order = setup()
    assert order.total == Decimal("10.50")
    sub, issues = update(w, sub, line_items=[{"variant_id": w.apples.pk, "quantity": 5}])
    assert issues == []
    order.refresh_from_db()
    assert lines(order) == {w.apples.pk: 5}
    assert on_hand(w.apples) == 45
    assert order.total == Decimal("22.50")
    assert order.payments.get().amount == Decimal("22.50")
    assert order.sync_snapshot["line_items"] == {str(w.apples.pk): 5}


def test_quantity_increase_without_stock_is_an_issue():
    """Not enough stock: the order keeps its quantity and the manager is told."""
    w, sub, order = setup()
    Variant.objects.filter(pk=w.apples.pk).update(on_hand=1)
    sub, issues = update(w, sub, line_items=[{"variant_id": w.apples.pk, "quantity": 5}])
    assert issues == [
        {
            "order_id": order.pk,
            "order_cycle_id": w.open.pk,
            "issue": "Insufficient stock for Apples - 1 kg",
        }
    ]
    assert lines(order) == {w.apples.pk: 2}
    assert on_hand(w.apples) == 1


def test_new_line_added_and_removed_line_released():
    """A new variant is added at its price; a removed one gives its stock back."""
    w, sub, order = setup()
    sub, issues = update(w, sub, line_items=[{"variant_id": w.pears.pk, "quantity": 1}])
    assert issues == []
    order.refresh_from_db()
    assert lines(order) == {w.pears.pk: 1}
    assert order.line_items.get().price == Decimal("6.00")
    assert (on_hand(w.apples), on_hand(w.pears)) == (50, 49)
    assert order.total == Decimal("8.50")


def test_hand_changed_quantity_is_left_alone():
    """A quantity changed by hand is not overwritten; the manager is told."""
    w, sub, order = setup()
    LineItem.objects.filter(order=order).update(quantity=3)
    sub, issues = update(w, sub, line_items=[{"variant_id": w.apples.pk, "quantity": 4}])
    assert [i["issue"] for i in issues] == ["Apples - 1 kg quantity changed on the order"]
    assert lines(order) == {w.apples.pk: 3}


def test_hand_changed_quantity_equal_to_new_value_is_no_issue():
    """The hand change already matches the edit: nothing to report."""
    w, sub, order = setup()
    LineItem.objects.filter(order=order).update(quantity=4)
    sub, issues = update(w, sub, line_items=[{"variant_id": w.apples.pk, "quantity": 4}])
    assert issues == []


def test_address_change_applied_unless_changed_by_hand():
    """The bill address follows the subscription; a hand-changed ship address does not."""
    w, sub, order = setup()
    order.ship_address = factories.address(city="Paris")
    order.save()
    new_bill = factories.address(first_name="Zoé")
    new_ship = factories.address(city="Nantes")
    sub, issues = update(w, sub, bill_address=new_bill, ship_address=new_ship)
    order.refresh_from_db()
    assert order.bill_address["first_name"] == "Zoé"
    assert order.ship_address["city"] == "Paris"
    assert [i["issue"] for i in issues] == ["Shipping address changed on the order"]


def test_shipping_method_change_recomputes_fees():
    """A new shipping method's fee replaces the old one."""
    w, sub, order = setup()
    pickup = factories.shipping_method(w.shop, fee="0.00", name="Pick-up")
    sub, issues = update(w, sub, shipping_method_id=pickup.pk)
    order.refresh_from_db()
    assert (issues, order.shipping_method_id, order.total) == ([], pickup.pk, Decimal("8.50"))


def test_payment_method_change_replaces_pending_payment():
    """The pending payment is voided and a new one made with the new method."""
    w, sub, order = setup()
    cheque = factories.payment_method(w.shop, kind="manual", fee="1.00", name="Cheque")
    sub, issues = update(w, sub, payment_method_id=cheque.pk)
    order.refresh_from_db()
    assert issues == []
    assert list(order.payments.values_list("method_id", "state", "amount")) == [
        (w.cash.pk, PaymentState.VOID, Decimal("10.50")),
        (cheque.pk, PaymentState.PENDING, Decimal("11.00")),
    ]
    assert order.total == Decimal("11.00")


def test_closed_canceled_orders_untouched():
    """Orders of closed cycles and canceled orders never change."""
    w, sub, order = setup()
    order.state = OrderState.CANCELED
    order.save()
    issues = propagate_subscription_changes(subscription=sub, now=w.now)
    assert issues == []
    sub2 = subscribe(w, customer_id=factories.customer(w.shop).pk)
    order2 = place(sub2.proxy_orders.get(order_cycle=w.open), now=w.now)
    after_close = w.open.closes_at + timedelta(minutes=1)
    subscription_update(
        subscription=sub2,
        changes={"line_items": [{"variant_id": w.apples.pk, "quantity": 9}]},
        now=after_close,
    )
    assert lines(order2) == {w.apples.pk: 2}
    assert lines(order) == {w.apples.pk: 2}
