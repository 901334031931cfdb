"""The demo data set: what `cadence demo` promises, and that loading it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from cadence import demo
from cadence.catalog.models import Product, Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import ProxyOrder, Subscription

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 26, 10, 0, tzinfo=UTC)  # a Thursday morning, days before a DST change


def _status(subscription: Subscription, now: datetime) -> str:
    # The documented derivation (domain.md, Subscription), first match wins.
    if subscription.canceled_at:
        return "canceled"
    if subscription.paused_at:
        return "paused"
    if subscription.begins_at > now:
        return "pending"
    if subscription.ends_at and subscription.ends_at <= now:
        return "ended"
    return "active"


def test_demo_load_creates_the_advertised_shop():
    """One hub with subscriptions on and two producers supplying it, 15 products, 20
    customers, delivery and pick-up, cash and Stripe payment methods, the three logins."""
    result = demo.demo_load(now=NOW)

    hub = result.hub
    assert result.created is True
    assert Enterprise.objects.filter(is_shop=True).get() == hub
    assert hub.enable_subscriptions and hub.timezone == "Europe/Paris" and hub.currency == "EUR"
    assert hub.contact_email
    producers = Enterprise.objects.filter(is_producer=True)
    assert producers.count() == 2
    assert set(hub.suppliers.all()) == set(producers)
    assert Product.objects.filter(supplier__in=producers).count() == 15
    assert Variant.objects.filter(on_demand=True).count() >= 2
    assert Customer.objects.filter(shop=hub).count() == 20
    assert Customer.objects.filter(shop=hub, user__isnull=False).count() >= 3
    assert set(ShippingMethod.objects.values_list("fee", flat=True)) >= {0}
    assert ShippingMethod.objects.filter(fee__gt=0, requires_address=True).exists()
    assert set(PaymentMethod.objects.values_list("kind", flat=True)) == {"manual", "stripe"}
    user_model = get_user_model()
    for login in demo.DEMO_LOGINS:
        assert user_model.objects.get(username=login.email).check_password(login.password)
    assert user_model.objects.get(username=demo.STAFF_EMAIL).is_staff
    assert hub.managers.filter(username=demo.MANAGER_EMAIL).exists()
    assert Customer.objects.filter(email=demo.BUYER_EMAIL, user__isnull=False).exists()


def test_demo_cycles_surround_now_with_exactly_one_open():
    """Weekly and fortnightly schedules; cycles from two weeks back to six weeks ahead, of
    which exactly one is open at `now`."""
    demo.demo_load(now=NOW)

    cycles = list(OrderCycle.objects.order_by("opens_at"))
    open_now = [c for c in cycles if c.opens_at <= NOW < c.closes_at]
    assert len(open_now) == 1
    assert sum(c.closes_at <= NOW for c in cycles) == 2
    assert sum(c.opens_at > NOW for c in cycles) == 6
    weekly = Schedule.objects.get(name="Weekly")
    fortnightly = Schedule.objects.get(name="Fortnightly")
    assert weekly.order_cycles.count() == len(cycles)
    assert open_now[0] in fortnightly.order_cycles.all()
    assert fortnightly.order_cycles.count() == 5
    # Back to back: each cycle opens when the previous one closes.
    for previous, following in zip(cycles, cycles[1:], strict=False):
        assert following.opens_at == previous.closes_at


def test_demo_subscriptions_cover_every_status():
    """15 subscriptions on both schedules, each status present; the active ones have a
    proxy order in the open cycle, the canceled ones none left pending."""
    demo.demo_load(now=NOW)

    subscriptions = list(Subscription.objects.all())
    assert len(subscriptions) == 15
    statuses = [_status(s, NOW) for s in subscriptions]
    assert set(statuses) == {"active", "pending", "paused", "ended", "canceled"}
    assert {s.schedule.name for s in subscriptions} == {"Weekly", "Fortnightly"}
    assert all(s.line_items.exists() for s in subscriptions)

    open_cycle = OrderCycle.objects.get(opens_at__lte=NOW, closes_at__gt=NOW)
    for subscription, status in zip(subscriptions, statuses, strict=True):
        if status == "active":
            assert ProxyOrder.objects.filter(
                subscription=subscription, order_cycle=open_cycle
            ).exists()
        if status == "canceled":
            assert not subscription.proxy_orders.filter(state="pending").exists()


def _row_counts() -> tuple[int, ...]:
    return (
        Enterprise.objects.count(),
        Product.objects.count(),
        Customer.objects.count(),
        Subscription.objects.count(),
        ProxyOrder.objects.count(),
        OrderCycle.objects.count(),
    )


def test_demo_load_twice_does_not_duplicate():
    """A second load finds the demo and creates nothing."""
    first = demo.demo_load(now=NOW)
    counts = _row_counts()

    second = demo.demo_load(now=NOW)

    assert second.created is False and second.hub == first.hub
    assert counts == _row_counts()


def test_demo_tokens_replace_the_previous_ones():
    """Each start prints a fresh token per login; earlier demo tokens stop working."""
    demo.demo_load(now=NOW)
    first = demo.demo_tokens()
    second = demo.demo_tokens()

    assert set(first) == {login.email for login in demo.DEMO_LOGINS}
    assert not set(first.values()) & set(second.values())
    from cadence.api.models import ApiToken, hash_token

    assert not ApiToken.objects.filter(digest__in=[hash_token(t) for t in first.values()]).exists()
    assert ApiToken.objects.count() == 3


def test_demo_replays_its_history_with_the_engine():
    """The past weeks are lived again by the real services: the two closed cycles have
    confirmed orders, the open one placed orders, and the outbox holds the buyers' and the
    shop's emails of those weeks."""
    from cadence.notifications.models import Email
    from cadence.orders.models import Order

    result = demo.demo_load(now=NOW)

    cycles = list(OrderCycle.objects.order_by("opens_at"))
    closed, open_cycle = cycles[:2], cycles[2]
    for cycle in closed:
        assert Order.objects.filter(order_cycle=cycle, state="confirmed").exists()
    assert Order.objects.filter(order_cycle=open_cycle, state="complete").exists()
    kinds = set(Email.objects.values_list("kind", flat=True))
    assert {"placement", "confirmation"} <= kinds
    assert any("placed" in line for line in result.history)
