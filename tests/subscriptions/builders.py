"""A small shop set up for subscription tests, and a stand-in for placement that writes an
order the way the placement engine does (order, lines, stock, pending payment, snapshot)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from cadence.catalog.services import stock_reserve
from cadence.orders.models import LineItem, Order
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.lifecycle import subscription_create
from cadence.subscriptions.services.order_sync import order_refresh_totals
from tests import factories

_numbers = itertools.count(1)


def now() -> datetime:
    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def world(**shop_fields) -> SimpleNamespace:
    """A shop with two variants, three weekly cycles (closed, open, upcoming) in a schedule,
    a customer, a delivery method and a cash method. Times are around `now()`."""
    t = now()
    shop = factories.shop("Green Grocer", **shop_fields)
    apples = factories.variant(shop, price="4.00", on_hand=50, product_name="Apples")
    pears = factories.variant(shop, price="6.00", on_hand=50, product_name="Pears")
    closed = factories.order_cycle(
        shop,
        opens_at=t - timedelta(days=10),
        closes_at=t - timedelta(days=3),
        variants=[apples, pears],
    )
    open_ = factories.order_cycle(
        shop,
        opens_at=t - timedelta(days=2),
        closes_at=t + timedelta(days=4),
        variants=[apples, pears],
    )
    upcoming = factories.order_cycle(
        shop,
        opens_at=t + timedelta(days=5),
        closes_at=t + timedelta(days=11),
        variants=[apples, pears],
    )
    schedule = factories.schedule(shop, [closed, open_, upcoming], name="Weekly")
    return SimpleNamespace(
        now=t,
        shop=shop,
        apples=apples,
        pears=pears,
        closed=closed,
        open=open_,
        upcoming=upcoming,
        schedule=schedule,
        customer=factories.customer(shop, "ann@example.org", first_name="Ann", last_name="Lee"),
        shipping=factories.shipping_method(shop, fee="2.00"),
        cash=factories.payment_method(shop, kind="manual", fee="0.50"),
    )


def subscribe(w: SimpleNamespace, **overrides):
    args = dict(
        shop=w.shop,
        customer_id=w.customer.pk,
        schedule_id=w.schedule.pk,
        payment_method_id=w.cash.pk,
        shipping_method_id=w.shipping.pk,
        begins_at=w.now - timedelta(days=30),
        line_items=[{"variant_id": w.apples.pk, "quantity": 2}],
        now=w.now,
    )
    args.update(overrides)
    return subscription_create(**args)


def place(proxy: ProxyOrder, *, now: datetime) -> Order:
    """Place a proxy order as the placement engine does: lines at the variant price (capped
    by stock), a pending payment of the total, and the snapshot of what was written."""
    sub = proxy.subscription
    order = Order.objects.create(
        number=f"T{next(_numbers):06d}",
        shop=sub.shop,
        order_cycle=proxy.order_cycle,
        customer=sub.customer,
        email=sub.customer.email,
        shipping_method=sub.shipping_method,
        bill_address=sub.bill_address,
        ship_address=sub.ship_address,
        placed_at=now,
    )
    placed = {}
    for line in sub.line_items.select_related("variant"):
        quantity = (
            line.quantity
            if stock_reserve(variant_id=line.variant_id, quantity=line.quantity)
            else 0
        )
        LineItem.objects.create(
            order=order,
            variant=line.variant,
            quantity=quantity,
            requested_quantity=line.quantity,
            price=line.variant.price,
        )
        placed[str(line.variant_id)] = quantity
    order_refresh_totals(order=order, payment_method=sub.payment_method, new_payment=True)
    order.sync_snapshot = {
        "line_items": placed,
        "shipping_method_id": sub.shipping_method_id,
        "payment_method_id": sub.payment_method_id,
        "bill_address": sub.bill_address,
        "ship_address": sub.ship_address,
    }
    order.save()
    proxy.order, proxy.state, proxy.placed_at = order, ProxyOrderState.PLACED, now
    proxy.save()
    return order


def money(value: str) -> Decimal:
    return Decimal(value)
