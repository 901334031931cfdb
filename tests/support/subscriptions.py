"""A small shop set up for subscription tests around a fixed moment (`world`, `subscribe`),
and one proxy order placed by the real placement engine (`place`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from cadence.orders.models import Order
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import placement
from cadence.subscriptions.services.lifecycle import subscription_create
from tests.support import factories


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
    """Place a proxy order with the real placement engine (`place_proxy_orders`) at `now`, as
    an unpause or a retry does; the order it wrote (lines capped by stock, fees, a pending
    payment, the sync snapshot, the buyer's placement email)."""
    placement.place_proxy_orders(proxy_order_ids=[proxy.pk], now=now)
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED, f"not placed: {proxy.state}"
    return proxy.order


def money(value: str) -> Decimal:
    return Decimal(value)
