"""Placement: each eligible proxy order of an open cycle becomes one order, with the stock
there is, at current prices, and the buyer is emailed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.notifications.models import Email
from cadence.orders.models import Adjustment, Order, OrderState, PaymentState
from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrderState
from cadence.subscriptions.services import placement
from cadence.subscriptions.services.placement import (
    order_email_context_from_db,
    place_cycle,
    place_proxy_orders,
)
from tests import factories
from tests.engine.conftest import make_world

pytestmark = pytest.mark.django_db


def test_places_an_order_at_current_prices_with_fees_payment_snapshot_and_email(world):
    """A pending proxy order becomes a placed order: lines at the variant's current price,
    cycle + shipping + payment fees, a pending payment of the total, a sync snapshot and a
    placement email in the buyer's language, from the shop, replying to the shop."""
    # given
    world.shipping.fee = Decimal("3.00")
    world.shipping.save()
    world.payment.fee_percent = Decimal("2")
    world.payment.save()
    world.cycle.fees.create(name="Packing", kind="per_order", amount=Decimal("1.00"))
    customer = factories.customer(world.shop, language="fr")
    proxy = world.subscribe([(world.variants[0], 2), (world.variants[1], 1)], customer=customer)
    Variant.objects.filter(pk=world.variants[0].pk).update(price=Decimal("11.00"))

    # when
    summary = place_cycle(order_cycle=world.cycle)

    # then
    proxy.refresh_from_db()
    assert summary.placed == [proxy.pk] and proxy.state == ProxyOrderState.PLACED
    order = proxy.order
    assert order.state == OrderState.COMPLETE and order.number == placement.order_number(proxy.pk)
    lines = {
        li.variant_id: (li.quantity, li.requested_quantity, li.price)
        for li in order.line_items.all()
    }
    assert lines == {
        world.variants[0].pk: (2, 2, Decimal("11.00")),
        world.variants[1].pk: (1, 1, Decimal("4.50")),
    }
    assert order.item_total == Decimal("26.50")
    fees = sorted(Adjustment.objects.filter(order=order).values_list("kind", "amount"))
    assert fees == [
        ("order_cycle", Decimal("1.00")),
        ("payment", Decimal("0.53")),
        ("shipping", Decimal("3.00")),
    ]
    assert order.total == Decimal("31.03")
    payment = Payment.objects.get(order=order)
    assert (payment.amount, payment.state, payment.method_id) == (
        Decimal("31.03"),
        PaymentState.PENDING,
        world.payment.pk,
    )
    assert order.sync_snapshot["line_items"] == {
        str(world.variants[0].pk): 2,
        str(world.variants[1].pk): 1,
    }
    assert order.sync_snapshot["shipping_method_id"] == world.shipping.pk
    assert order.sync_snapshot["payment_method_id"] == world.payment.pk
    assert order.sync_snapshot["bill_address"]["city"] == "Lyon"
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 98
    email = Email.objects.get(kind="placement")
    assert (email.to, email.language, email.from_name, email.reply_to) == (
        customer.email,
        "fr",
        world.shop.name,
        world.shop.contact_email,
    )
    assert order_email_context_from_db(email.context)["order"]["number"] == order.number


def test_caps_to_stock_gives_zero_for_unoffered_and_deleted_variants(world):
    """A line is capped to the stock there is; a variant the cycle does not sell, or a
    soft-deleted one, gets 0; the email shows asked and given quantities; fees are computed
    on what is delivered."""
    a, b, c = world.variants
    Variant.objects.filter(pk=a.pk).update(on_hand=1)
    world.cycle.variants.remove(b)
    Variant.objects.filter(pk=c.pk).update(deleted_at=timezone.now())
    proxy = world.subscribe([(a, 3), (b, 1), (c, 1)])

    place_cycle(order_cycle=world.cycle)

    proxy.refresh_from_db()
    lines = {
        li.variant_id: (li.quantity, li.requested_quantity) for li in proxy.order.line_items.all()
    }
    assert lines == {a.pk: (1, 3), b.pk: (0, 1), c.pk: (0, 1)}
    assert proxy.order.total == Decimal("10.00")
    assert Variant.objects.get(pk=a.pk).on_hand == 0
    context = order_email_context_from_db(Email.objects.get(kind="placement").context)
    assert context["reduced"] is True
    assert [(r["quantity"], r["requested"]) for r in context["lines"]] == [(1, 3), (0, 1), (0, 1)]


def test_nothing_available_makes_the_proxy_order_empty_with_an_email_and_no_order(world):
    """When every line is 0 there is no order: the proxy order is `empty` with a reason and
    the buyer gets the empty-order email."""
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=0)
    proxy = world.subscribe([(world.variants[0], 2)])

    summary = place_cycle(order_cycle=world.cycle)

    proxy.refresh_from_db()
    assert summary.empty == [proxy.pk]
    assert proxy.state == ProxyOrderState.EMPTY and proxy.order_id is None and proxy.reason
    assert Order.objects.count() == 0
    assert Email.objects.filter(kind="empty").count() == 1


def test_on_demand_variants_are_never_capped(world):
    """On-demand variants are unlimited and keep no stock count."""
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=0, on_demand=True)
    proxy = world.subscribe([(world.variants[0], 500)])
    place_cycle(order_cycle=world.cycle)
    proxy.refresh_from_db()
    assert proxy.order.line_items.get().quantity == 500
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 0


def test_ineligible_subscriptions_and_disabled_shops_are_not_placed(world):
    """Paused, canceled and out-of-range subscriptions stay pending; a shop with
    subscriptions disabled gets nothing placed."""
    now = timezone.now()
    paused = world.subscribe(paused_at=now - timedelta(days=1))
    canceled = world.subscribe(canceled_at=now - timedelta(days=1))
    ended = world.subscribe(ends_at=world.cycle.closes_at - timedelta(hours=1))
    later = world.subscribe(begins_at=world.cycle.closes_at + timedelta(hours=1))

    assert place_cycle(order_cycle=world.cycle).placed == []
    for proxy in (paused, canceled, ended, later):
        proxy.refresh_from_db()
        assert proxy.state == ProxyOrderState.PENDING

    other = make_world(enable_subscriptions=False)
    proxy = other.subscribe()
    assert place_cycle(order_cycle=other.cycle).placed == []
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING and Order.objects.count() == 0


def test_a_broken_subscription_fails_alone_and_is_reported(world):
    """A subscription without an address fails with the reason; the others are placed, and
    the shop's placement summary lists both."""
    good = world.subscribe()
    bad = world.subscribe(bill_address={})

    summary = place_cycle(order_cycle=world.cycle)

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.state == ProxyOrderState.PLACED
    assert bad.state == ProxyOrderState.FAILED and "billing address" in bad.reason
    assert summary.failed == {bad.pk: bad.reason}
    report = Email.objects.get(kind="placement_summary")
    assert report.to == world.shop.contact_email
    assert report.context["placed"] == 1
    assert report.context["failed"][0]["reason"] == bad.reason


def test_placing_again_changes_nothing_and_the_summary_is_sent_once(world):
    """A second run finds nothing to do: no second order, no second email, no stock taken."""
    proxy = world.subscribe()
    place_cycle(order_cycle=world.cycle)
    stock = Variant.objects.get(pk=world.variants[0].pk).on_hand
    emails = Email.objects.count()

    again = place_cycle(order_cycle=world.cycle)

    assert not again.did_something
    assert Order.objects.count() == 1 and Email.objects.count() == emails
    assert Email.objects.filter(kind="placement_summary").count() == 1
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == stock
    assert place_proxy_orders(proxy_order_ids=[proxy.pk]).skipped == 1


def test_a_closed_or_future_cycle_is_not_placed(world):
    """Placement only happens while the cycle is open."""
    proxy = world.subscribe()
    assert not place_cycle(
        order_cycle=world.cycle, now=world.cycle.opens_at - timedelta(seconds=1)
    ).placed
    assert not place_cycle(order_cycle=world.cycle, now=world.cycle.closes_at).placed
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING


def test_place_proxy_orders_retries_an_empty_one(world):
    """An explicit request (retry, unpause, resume) places at once with the same rules."""
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=0)
    proxy = world.subscribe()
    place_cycle(order_cycle=world.cycle)
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=5)

    summary = place_proxy_orders(proxy_order_ids=[proxy.pk])

    proxy.refresh_from_db()
    assert summary.placed == [proxy.pk] and proxy.state == ProxyOrderState.PLACED
    assert Email.objects.filter(kind="placement").count() == 1


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("first_come", [4, 3, 0, 0]), ("fair_share", [3, 1, 2, 1])],
)
def test_allocation_policy_decides_for_the_whole_cycle_whatever_the_chunks(
    monkeypatch, policy, expected
):
    """7 units for 4 subscriptions asking 4, 3, 4, 3 (oldest first): first_come serves the
    oldest in full; fair_share gives each floor(ask * 7/14) = 2, 1, 2, 1 and the remaining
    unit to the oldest. Chunks of 1 give the same result as one chunk."""
    for chunk_size in (1, 250):
        monkeypatch.setattr(placement, "CHUNK_SIZE", chunk_size)
        world = make_world(on_hand=(7, 100, 100), allocation_policy=policy)
        proxies = [world.subscribe([(world.variants[0], q)]) for q in (4, 3, 4, 3)]

        place_cycle(order_cycle=world.cycle)

        got = []
        for proxy in proxies:
            proxy.refresh_from_db()
            got.append(proxy.order.line_items.get().quantity if proxy.order_id else 0)
        assert got == expected, chunk_size
        assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 0


def test_queries_per_chunk_do_not_grow_with_orders(world, django_assert_max_num_queries):
    """A chunk is a handful of queries, whatever its size (set-based writes)."""
    for _ in range(60):
        world.subscribe([(world.variants[0], 1), (world.variants[1], 1), (world.variants[2], 1)])
    with django_assert_max_num_queries(30):
        summary = place_cycle(order_cycle=world.cycle)
    assert len(summary.placed) == 60


def test_placed_proxy_orders_record_when(world):
    """The placed transition stores the placement time and the order (read back as such)."""
    proxy = world.subscribe()
    moment = world.cycle.opens_at + timedelta(minutes=5)
    place_cycle(order_cycle=world.cycle, now=moment)
    proxy.refresh_from_db()
    assert proxy.placed_at == moment and proxy.order.placed_at == moment
    assert proxy.order.proxy_order == proxy


def test_proxy_orders_found_already_placed_are_counted_and_reported(world):
    """A run reaching a proxy order another run already placed leaves it alone, counts it
    as already placed, and the shop's summary says so."""
    first, second = world.subscribe(), world.subscribe()
    placement.place_proxy_orders(proxy_order_ids=[first.pk])

    summary = placement.place_chunk(
        order_cycle_id=world.cycle.pk, proxy_order_ids=[first.pk, second.pk]
    )

    assert summary.placed == [second.pk] and summary.already_placed == [first.pk]
    assert Order.objects.count() == 2
    report = Email.objects.get(kind="placement_summary")
    assert (report.context["placed"], report.context["already_placed"]) == (2, 1)
    assert "already placed" in summary.describe()


def test_placed_rows_get_the_models_defaults_and_keep_their_json(world):
    """Orders, lines, fees, payments and email rows written by placement are what the
    models would write: timestamps set, defaults for the columns placement does not name,
    addresses and snapshot as JSON objects, the buyer's user linked, and an email row
    queued in the outbox without a dedup key."""
    user = factories.user()
    customer = factories.customer(world.shop, user=user)
    proxy = world.subscribe([(world.variants[0], 1)], customer=customer)
    before = timezone.now()

    place_cycle(order_cycle=world.cycle)

    proxy.refresh_from_db()
    order = proxy.order
    assert order.user_id == user.pk and order.email == customer.email
    assert order.created_at >= before and order.updated_at >= before
    assert order.confirmed_at is None and order.canceled_at is None
    assert order.bill_address == proxy.subscription.bill_address
    assert order.ship_address == proxy.subscription.ship_address
    assert isinstance(order.sync_snapshot["bill_address"], dict)
    payment = Payment.objects.get(order=order)
    assert (payment.error, payment.gateway_reference) == ("", "")
    assert payment.created_at >= before
    (email,) = Email.objects.filter(kind="placement")
    assert (email.status, email.attempts, email.dedup_key, email.subject) == (
        "queued",
        0,
        None,
        "",
    )
    assert email.context["order_id"] == order.pk
