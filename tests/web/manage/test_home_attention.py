"""The manager's home lists the subscriptions needing attention: failed orders and payments
of open or recently closed cycles, and paused subscriptions resuming within a week."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cadence.cycles.models import OrderCycle
from cadence.payments.gateways.base import ChargeResult, ChargeStatus
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support.gateways import ScriptedGateway, use_gateway

pytestmark = pytest.mark.django_db


def _home(shop) -> str:
    return f"/manage/{shop.pk}/"


def _sub_url(sub) -> str:
    return f"/manage/{sub.shop_id}/subscriptions/{sub.pk}/"


def _set_up(shop):
    """A shop with every setup step done, and an open cycle in its schedule."""
    factories.payment_method(shop, kind="manual", name="Cash")
    factories.shipping_method(shop)
    carrots = factories.variant(shop, product_name="Carrots", on_hand=1000)
    now = timezone.now()
    cycle = factories.order_cycle(
        shop, opens_at=now - timedelta(days=4), variants=[carrots], name="Week 50"
    )
    schedule = factories.schedule(shop, [cycle], name="Weekly")
    return cycle, schedule, carrots


def _subscriber(shop, name: str, **fields):
    first, last = name.split()
    return factories.subscription(
        shop, factories.customer(shop, first_name=first, last_name=last), **fields
    )


def _failed(shop, cycle, name: str, reason: str = "The shipping method is no longer available"):
    """A subscription whose order could not be placed in `cycle`."""
    sub = _subscriber(shop, name)
    ProxyOrder.objects.create(
        subscription=sub, order_cycle=cycle, state=ProxyOrderState.FAILED, reason=reason
    )
    return sub


def _today(shop):
    return timezone.now().astimezone(ZoneInfo(shop.timezone)).date()


def _paused(shop, name: str, *, resume_in_days):
    resume_on = _today(shop) + timedelta(days=resume_in_days) if resume_in_days else None
    return _subscriber(
        shop, name, paused_at=timezone.now() - timedelta(days=3), resume_on=resume_on
    )


def _attention(html: str) -> str:
    start = html.index('id="attention-title"')
    return html[start : html.index("</section>", start)]


def test_the_home_lists_a_failed_order_and_a_subscription_resuming_soon(manager_client, shop):
    cycle, _schedule, _carrots = _set_up(shop)
    failed = _failed(shop, cycle, "Ann Failed")
    resuming = _paused(shop, "Bob Resuming", resume_in_days=3)
    _paused(shop, "Cat Later", resume_in_days=20)  # not within the week
    _paused(shop, "Dan Forever", resume_in_days=None)  # paused with no resume date
    old = factories.order_cycle(
        shop,
        opens_at=timezone.now() - timedelta(days=40),
        closes_at=timezone.now() - timedelta(days=30),
    )
    _failed(shop, old, "Eve Longago")  # its cycle closed a month ago
    # Another shop's troubles are not this shop's.
    other = factories.shop("Other shop")
    other_cycle = factories.order_cycle(other)
    _failed(other, other_cycle, "Fay Elsewhere")
    _paused(other, "Gus Elsewhere", resume_in_days=2)

    response = manager_client.get(_home(shop))

    assert response.status_code == 200
    section = _attention(response.text)
    assert "Subscriptions needing attention" in section
    assert re.findall(r'data-kind="(\w+)"', section) == ["order_failed", "resuming"]
    assert f'href="{_sub_url(failed)}">Ann Failed<' in section
    assert "Order failed" in section
    assert "Week 50: The shipping method is no longer available" in section
    assert f'href="{_sub_url(resuming)}">Bob Resuming<' in section
    assert "Resumes soon" in section
    for name in ("Cat Later", "Dan Forever", "Eve Longago", "Fay Elsewhere", "Gus Elsewhere"):
        assert name not in section


def test_failed_and_unauthenticated_payments_of_a_recently_closed_cycle(
    manager_client, shop, monkeypatch
):
    """Placed by the engine, then confirmed: one card is declined, one needs the buyer to
    authenticate, one is paid. The first two are listed, the paid one is not."""
    cycle, schedule, carrots = _set_up(shop)
    card = factories.payment_method(shop, kind="stripe", name="Card")
    subs = [
        _subscriber(shop, name, schedule=schedule, payment_method=card)
        for name in ("Ann Declined", "Bob Authenticate", "Cat Paid")
    ]
    for sub in subs:
        SubscriptionLineItem.objects.create(subscription=sub, variant=carrots, quantity=2)
        ProxyOrder.objects.create(subscription=sub, order_cycle=cycle)
    place_cycle(order_cycle=cycle)
    gateway = ScriptedGateway(
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined."),
        ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_2", client_secret="cs_2"),
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_3"),
    )
    use_gateway(monkeypatch, gateway)
    OrderCycle.objects.filter(pk=cycle.pk).update(closes_at=timezone.now() - timedelta(days=2))
    cycle.refresh_from_db()
    confirm_cycle(order_cycle=cycle)
    # The next week's cycle keeps the shop set up.
    schedule.order_cycles.add(
        factories.order_cycle(shop, opens_at=timezone.now() + timedelta(days=5))
    )

    section = _attention(manager_client.get(_home(shop)).text)

    assert re.findall(r'data-kind="(\w+)"', section) == [
        "payment_failed",
        "payment_needs_authorization",
    ]
    assert "Payment failed" in section and "Week 50: Your card was declined." in section
    assert "Awaiting authentication" in section
    assert "the buyer must authenticate the card payment" in section
    assert f'href="{_sub_url(subs[1])}"' in section
    assert "Cat Paid" not in section


def test_a_calm_empty_state_when_nothing_needs_attention(manager_client, shop):
    _set_up(shop)
    factories.customer(shop)

    section = _attention(manager_client.get(_home(shop)).text)

    assert 'id="attention-empty"' in section
    assert "Nothing needs your attention" in section


def test_no_attention_section_before_the_setup_is_complete(manager_client, shop):
    factories.shipping_method(shop)
    assert 'id="attention-title"' not in manager_client.get(_home(shop)).text


def test_the_home_links_to_the_forecast_of_the_open_and_next_cycles(manager_client, shop):
    cycle, schedule, carrots = _set_up(shop)
    factories.customer(shop)
    upcoming = factories.order_cycle(shop, opens_at=timezone.now() + timedelta(days=3))

    html = manager_client.get(_home(shop)).text

    assert f'href="/manage/{shop.pk}/order-cycles/{cycle.pk}/forecast/"' in html
    assert f'href="/manage/{shop.pk}/order-cycles/{upcoming.pk}/forecast/"' in html


def _many_in_trouble(shop, cycle, count: int, first: int) -> None:
    """`count` subscriptions with a failed order and `count` paused ones resuming tomorrow,
    written in bulk."""
    customer = factories.customer(shop)
    schedule = factories.schedule(shop, [cycle])
    payment, shipping = factories.payment_method(shop), factories.shipping_method(shop)
    now = timezone.now()

    def subscription(**fields):
        return Subscription(
            shop=shop,
            customer=customer,
            schedule=schedule,
            payment_method=payment,
            shipping_method=shipping,
            bill_address=factories.address(),
            ship_address=factories.address(),
            begins_at=now - timedelta(days=30),
            **fields,
        )

    failing = Subscription.objects.bulk_create([subscription() for _ in range(count)])
    ProxyOrder.objects.bulk_create(
        [
            ProxyOrder(
                subscription=sub, order_cycle=cycle, state=ProxyOrderState.FAILED, reason="x"
            )
            for sub in failing
        ]
    )
    tomorrow = _today(shop) + timedelta(days=1)
    Subscription.objects.bulk_create(
        [subscription(paused_at=now - timedelta(days=1), resume_on=tomorrow) for _ in range(count)]
    )


def test_the_home_runs_as_many_queries_for_500_rows_as_for_10(manager_client, shop, count_queries):
    cycle, _schedule, _carrots = _set_up(shop)
    _many_in_trouble(shop, cycle, 5, 0)
    at_10 = count_queries(manager_client, _home(shop))

    _many_in_trouble(shop, cycle, 245, 5)

    assert count_queries(manager_client, _home(shop)) == at_10
    html = manager_client.get(_home(shop)).text
    assert "Only the first ones are listed." in html
    assert len(re.findall(r'data-kind="(\w+)"', _attention(html))) == 40
