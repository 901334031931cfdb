"""API: orders (read-only), with their lines, payments and subscription."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from tests.support import factories as f
from tests.support.api import make_order


def test_order_detail(as_user):
    """GET /orders/{id} shows lines, totals as strings, payments and the subscription id."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    variant = f.variant(shop)
    cycle = f.order_cycle(shop, variants=[variant])
    customer = f.customer(shop)
    method = f.payment_method(shop)
    order = make_order(shop, cycle, customer, variant, number="R100")
    payment = Payment.objects.create(order=order, method=method, amount=Decimal("4.5"))
    sub = f.subscription(
        shop,
        customer,
        schedule=f.schedule(shop, [cycle]),
        payment_method=method,
        begins_at=timezone.now(),
    )
    ProxyOrder.objects.create(
        subscription=sub, order_cycle=cycle, order=order, state=ProxyOrderState.PLACED
    )
    r = as_user(manager).get(f"/orders/{order.pk}")
    assert r.status_code == 200
    assert r.data == {
        "id": order.pk,
        "number": "R100",
        "state": "complete",
        "order_cycle_id": cycle.pk,
        "customer_id": customer.pk,
        "subscription_id": sub.pk,
        "line_items": [
            {"variant_id": variant.pk, "quantity": 2, "requested_quantity": 3, "price": "2.00"}
        ],
        "item_total": "4.00",
        "fee_total": "0.50",
        "total": "4.50",
        "payment_state": "pending",
        "payments": [
            {
                "id": payment.pk,
                "method_id": method.pk,
                "amount": "4.50",
                "state": "pending",
                "error": "",
            }
        ],
    }


def test_order_list_filters(as_user):
    """GET orders filters by order_cycle_id and state; an unknown state is 422; orders
    without a subscription answer subscription_id null."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    variant = f.variant(shop)
    c1, c2 = f.order_cycle(shop), f.order_cycle(shop)
    customer = f.customer(shop)
    o1 = make_order(shop, c1, customer, variant, number="A1")
    o2 = make_order(shop, c2, customer, variant, number="A2", state="canceled")
    make_order(f.shop(), f.order_cycle(f.shop()), f.customer(f.shop()), variant, number="X9")
    client = as_user(manager)
    path = f"/enterprises/{shop.pk}/orders"
    r = client.get(path)
    assert r.status_code == 200
    assert [o["id"] for o in r.data["items"]] == [o2.pk, o1.pk]
    assert r.data["items"][0]["subscription_id"] is None
    assert [o["id"] for o in client.get(path, order_cycle_id=c1.pk).data["items"]] == [o1.pk]
    assert [o["id"] for o in client.get(path, state="canceled").data["items"]] == [o2.pk]
    r = client.get(path, state="lost")
    assert r.status_code == 422 and list(r.data["errors"]) == ["state"]


def test_other_shops_orders_are_not_found(as_user):
    """Another shop's order answers 404."""
    shop = f.shop()
    variant = f.variant(shop)
    order = make_order(shop, f.order_cycle(shop), f.customer(shop), variant, number="Z1")
    assert as_user(f.user()).get(f"/orders/{order.pk}").status_code == 404
