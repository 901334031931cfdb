"""Builders of the back-office tests: a shop's open cycle with subscribers, placed and
confirmed by the real engine (`open_cycle`, `close_and_confirm`), and a shop set up for
subscriptions around the real clock (`setup_shop`, `subscribe`), with the pages' addresses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle
from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.lifecycle import subscription_create
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support.gateways import ScriptedGateway, use_gateway
from tests.support.subscriptions import weekly_shop

# --- a cycle's orders and results ------------------------------------------------------------


def results_url(cycle) -> str:
    return f"/manage/{cycle.shop_id}/order-cycles/{cycle.pk}/results/"


@dataclass
class Cycle:
    """An open cycle of the shop with its schedule, methods and two products."""

    cycle: OrderCycle
    schedule: object
    shipping: object
    manual: object
    carrots: object
    eggs: object

    def subscribe(self, count: int, *, lines=None, payment_method=None, first=0) -> list:
        """`count` customers subscribed (rows written in bulk), each with a pending proxy
        order in the cycle; `lines` are (variant, quantity), carrots × 2 by default."""
        shop = self.cycle.shop
        customers = Customer.objects.bulk_create(
            Customer(
                shop=shop,
                email=f"buyer{first + n}@example.org",
                first_name="Buyer",
                last_name=f"{first + n:04d}",
                ship_address=factories.address(),
            )
            for n in range(count)
        )
        subscriptions = Subscription.objects.bulk_create(
            Subscription(
                shop=shop,
                customer=customer,
                schedule=self.schedule,
                payment_method=payment_method or self.manual,
                shipping_method=self.shipping,
                bill_address=factories.address(),
                ship_address=factories.address(),
                begins_at=timezone.now() - timedelta(days=30),
            )
            for customer in customers
        )
        SubscriptionLineItem.objects.bulk_create(
            SubscriptionLineItem(subscription=subscription, variant=variant, quantity=quantity)
            for subscription in subscriptions
            for variant, quantity in (lines or [(self.carrots, 2)])
        )
        ProxyOrder.objects.bulk_create(
            ProxyOrder(subscription=subscription, order_cycle=self.cycle)
            for subscription in subscriptions
        )
        return subscriptions

    def place(self):
        return place_cycle(order_cycle=self.cycle)


def open_cycle(shop, *, carrots_on_hand=10_000, name="Week 50", opens_in=None) -> Cycle:
    now = timezone.now()
    carrots = factories.variant(
        shop, price="2.50", on_hand=carrots_on_hand, product_name="Carrots", name="1 kg"
    )
    eggs = factories.variant(shop, price="4.00", on_hand=10_000, product_name="Eggs", name="6")
    opens_at = now + opens_in if opens_in else now - timedelta(hours=1)
    cycle = factories.order_cycle(
        shop,
        name=name,
        opens_at=opens_at,
        closes_at=opens_at + timedelta(days=3),
        variants=[carrots, eggs],
        fees=[("Packing", "per_order", "0.50")],
    )
    return Cycle(
        cycle=cycle,
        schedule=factories.schedule(shop, [cycle]),
        shipping=factories.shipping_method(shop, fee="3.00", name="Home delivery"),
        manual=factories.payment_method(shop, name="Cash"),
        carrots=carrots,
        eggs=eggs,
    )


def close_and_confirm(world: Cycle, monkeypatch, *results) -> None:
    """Move the cycle's close to the past and confirm it; card charges get `results`."""
    gateway = ScriptedGateway(*results)
    use_gateway(monkeypatch, gateway)
    OrderCycle.objects.filter(pk=world.cycle.pk).update(
        closes_at=timezone.now() - timedelta(minutes=5)
    )
    world.cycle.refresh_from_db()
    confirm_cycle(order_cycle=world.cycle)


# --- subscriptions ---------------------------------------------------------------------------


def list_url(shop) -> str:
    return f"/manage/{shop.pk}/subscriptions/"


def detail_url(subscription) -> str:
    return f"/manage/{subscription.shop_id}/subscriptions/{subscription.pk}/"


def setup_shop(shop) -> SimpleNamespace:
    """`weekly_shop` around the real clock."""
    return weekly_shop(shop, now=timezone.now())


def subscribe(w: SimpleNamespace, customer=None, *, actor=None, **overrides) -> Subscription:
    """A subscription made by the service the pages and the API use."""
    customer = customer or factories.customer(w.shop)
    args = dict(
        shop=w.shop,
        customer_id=customer.pk,
        schedule_id=w.schedule.pk,
        payment_method_id=w.cash.pk,
        shipping_method_id=w.shipping.pk,
        begins_at=w.now - timedelta(days=30),
        line_items=[{"variant_id": w.apples.pk, "quantity": 2}],
        actor=actor,
    )
    args.update(overrides)
    return subscription_create(**args)
