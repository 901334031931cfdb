"""A shop with an open cycle around the real clock, ready for subscriptions (`make_world`,
and the `world` fixture, registered for the whole suite in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem
from tests.support import factories


@dataclass
class World:
    """A shop with an open cycle, methods and a few variants, ready for subscriptions."""

    shop: object
    cycle: object
    schedule: object
    shipping: object
    payment: object
    variants: list

    def subscribe(self, lines=None, *, customer=None, cycle=None, **fields) -> ProxyOrder:
        """A subscription to this shop's schedule with a pending proxy order in `cycle`."""
        customer = customer or factories.customer(self.shop)
        fields.setdefault("bill_address", factories.address())
        fields.setdefault("ship_address", factories.address())
        fields.setdefault("begins_at", timezone.now() - timedelta(days=30))
        sub = Subscription.objects.create(
            shop=self.shop,
            customer=customer,
            schedule=self.schedule,
            payment_method=fields.pop("payment_method", self.payment),
            shipping_method=fields.pop("shipping_method", self.shipping),
            **fields,
        )
        for variant, quantity in lines or [(self.variants[0], 2)]:
            SubscriptionLineItem.objects.create(
                subscription=sub, variant=variant, quantity=quantity
            )
        return ProxyOrder.objects.create(subscription=sub, order_cycle=cycle or self.cycle)


def make_world(*, on_hand=(100, 100, 100), prices=("10.00", "4.50", "2.00"), **shop_fields):
    shop = factories.shop(**shop_fields)
    variants = [
        factories.variant(shop, price=price, on_hand=stock)
        for price, stock in zip(prices, on_hand, strict=True)
    ]
    now = timezone.now()
    cycle = factories.order_cycle(
        shop,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=3),
        variants=variants,
    )
    return World(
        shop=shop,
        cycle=cycle,
        schedule=factories.schedule(shop, [cycle]),
        shipping=factories.shipping_method(shop),
        payment=factories.payment_method(shop),
        variants=variants,
    )


# The stock of the two variants a scarce world's subscriptions share: 47 units for 90 asked,
# 30 for 45.
SCARCE = (47, 30)


def scarce_world(policy: str, n: int = 45) -> tuple[World, list[ProxyOrder]]:
    """n subscriptions, oldest first, asking 1, 2, 3, 1, … of a scarce variant (47 units for
    90 asked: just over half) and 1 each of a second one (30 units for 45), under the shop's
    allocation `policy`."""
    world = make_world(on_hand=(*SCARCE, 100), allocation_policy=policy)
    proxies = [
        world.subscribe([(world.variants[0], 1 + i % 3), (world.variants[1], 1)]) for i in range(n)
    ]
    return world, proxies


def given(world: World, proxies: list[ProxyOrder]) -> list[tuple[int, int]]:
    """Per subscription (oldest first), what its order got of the two scarce variants."""
    got = []
    for proxy in proxies:
        proxy.refresh_from_db()
        lines = (
            dict(proxy.order.line_items.values_list("variant_id", "quantity"))
            if proxy.order_id
            else {}
        )
        got.append(tuple(lines.get(v.pk, 0) for v in world.variants[:2]))
    return got


@pytest.fixture
def world(db):
    return make_world()


def assert_no_email_twice() -> None:
    """No two outbox rows of the same kind to the same address."""
    from collections import Counter

    from cadence.notifications.models import Email

    per_recipient = Counter(Email.objects.values_list("kind", "to"))
    assert all(n == 1 for n in per_recipient.values()), per_recipient.most_common(3)
