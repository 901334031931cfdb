"""Builders shared by the API tests: the shop subscriptions are made in, a valid request body
to create one, and an order to read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from cadence.orders.models import LineItem, Order
from tests.support import factories as f


def subscription_shop() -> dict:
    """A shop with a manager, two variants (Kale 2.00, Leek 3.00) in a cycle opening in two
    days, a schedule of that cycle, a customer and a payment and a shipping method."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    kale = f.variant(shop, price="2.00", product_name="Kale")
    leek = f.variant(shop, price="3.00", product_name="Leek")
    now = timezone.now()
    cycle = f.order_cycle(
        shop,
        opens_at=now + timedelta(days=2),
        closes_at=now + timedelta(days=5),
        variants=[kale, leek],
    )
    return {
        "manager": manager,
        "shop": shop,
        "kale": kale,
        "leek": leek,
        "cycle": cycle,
        "schedule": f.schedule(shop, [cycle]),
        "customer": f.customer(shop),
        "payment_method": f.payment_method(shop),
        "shipping_method": f.shipping_method(shop),
    }


def subscription_body(s: dict, **overrides) -> dict:
    """A valid POST body for a subscription in `s` (from `subscription_shop`): two Kale from
    yesterday on; `overrides` replace fields."""
    data = {
        "customer_id": s["customer"].pk,
        "schedule_id": s["schedule"].pk,
        "payment_method_id": s["payment_method"].pk,
        "shipping_method_id": s["shipping_method"].pk,
        "begins_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "line_items": [{"variant_id": s["kale"].pk, "quantity": 2}],
    }
    data.update(overrides)
    return data


def make_order(shop, cycle, customer, variant, *, number, state="complete", quantity=2):
    order = Order.objects.create(
        number=number,
        shop=shop,
        order_cycle=cycle,
        customer=customer,
        email=customer.email,
        state=state,
        item_total=Decimal("4.00"),
        fee_total=Decimal("0.5"),
        total=Decimal("4.50"),
        placed_at=timezone.now(),
    )
    LineItem.objects.create(
        order=order, variant=variant, quantity=quantity, requested_quantity=3, price=Decimal("2")
    )
    return order
