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


def weekly_shop(shop, *, now: datetime) -> SimpleNamespace:
    """What a subscription needs in `shop`: two products, a closed, an open and an upcoming
    weekly cycle (Week 1-3) in a schedule, a home delivery and a cash method, around `now`."""
    apples = factories.variant(shop, price="4.00", on_hand=50, product_name="Apples")
    pears = factories.variant(shop, price="6.00", on_hand=50, product_name="Pears")
    cycles = [
        factories.order_cycle(
            shop,
            opens_at=now + timedelta(days=opens),
            closes_at=now + timedelta(days=closes),
            variants=[apples, pears],
            name=f"Week {n}",
        )
        for n, (opens, closes) in enumerate([(-10, -3), (-2, 4), (5, 11)], start=1)
    ]
    closed, open_, upcoming = cycles
    return SimpleNamespace(
        now=now,
        shop=shop,
        apples=apples,
        pears=pears,
        closed=closed,
        open=open_,
        upcoming=upcoming,
        schedule=factories.schedule(shop, cycles, name="Weekly"),
        shipping=factories.shipping_method(shop, fee="2.00", name="Home delivery"),
        cash=factories.payment_method(shop, kind="manual", fee="0.50", name="Cash"),
    )


def world(**shop_fields) -> SimpleNamespace:
    """`weekly_shop` of a shop around `now()`, with a customer, Ann Lee."""
    w = weekly_shop(factories.shop("Green Grocer", **shop_fields), now=now())
    w.customer = factories.customer(w.shop, "ann@example.org", first_name="Ann", last_name="Lee")
    return w


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
