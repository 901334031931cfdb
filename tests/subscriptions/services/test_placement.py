"""Placement: each eligible proxy order of an open cycle becomes one order, with the stock
there is, at current prices, and the buyer is emailed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.notifications.models import Email
from cadence.orders.models import Adjustment, Order, OrderState, PaymentState
from cadence.payments.models import Payment
from cadence.subscriptions.allocation import Claim, allocate
from cadence.subscriptions.models import (
    CycleAllocation,
    ProxyOrder,
    ProxyOrderState,
    Subscription,
)
from cadence.subscriptions.selectors import eligible_proxy_orders
from cadence.subscriptions.services import placement
from cadence.subscriptions.services.cycle_allocation import (
    cycle_allocation,
    cycle_shares,
    shares_to_json,
)
from cadence.subscriptions.services.emails import order_email_context_from_db
from cadence.subscriptions.services.placement import place_cycle, place_proxy_orders
from tests.support import factories
from tests.support.sql import statement_matches
from tests.support.worlds import SCARCE, given, make_world, scarce_world

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


def test_a_cycle_in_one_chunk_queues_the_shops_summary_with_it_and_sends_all_at_once(
    world, monkeypatch
):
    """A cycle that fits in one chunk queues the shop's summary in the chunk's transaction
    (nothing can be left: the chunk held every eligible proxy order), and asks for one send:
    the buyers' emails and the summary together."""
    proxies = [world.subscribe([(world.variants[0], 1)]) for _ in range(3)]
    sends: list[list[int]] = []
    monkeypatch.setattr(
        placement, "emails_send_after_commit", lambda *, email_ids: sends.append(email_ids)
    )

    place_cycle(order_cycle=world.cycle)

    summary = Email.objects.get(dedup_key=placement.placement_summary_key(world.cycle.pk))
    assert summary.context["placed"] == len(proxies)
    buyers = Email.objects.filter(kind="placement").values_list("pk", flat=True)
    assert [sorted(ids) for ids in sends] == [sorted([*buyers, summary.pk])]


def test_each_chunks_emails_are_sent_when_the_next_starts_and_the_last_with_the_summary(
    world, monkeypatch
):
    """A cycle placed in three chunks (the last not full) asks for three sends: the first
    chunk's buyers when the second starts, the second's when the third starts, the third's
    together with the shop's summary (one send task fewer per cycle)."""
    monkeypatch.setattr(placement, "CHUNK_SIZE", 2)
    proxies = [world.subscribe([(world.variants[0], 1)]) for _ in range(5)]
    sends: list[list[int]] = []
    monkeypatch.setattr(
        placement, "emails_send_after_commit", lambda *, email_ids: sends.append(email_ids)
    )

    place_cycle(order_cycle=world.cycle)

    def buyer_emails(chunk):
        return sorted(
            Email.objects.filter(
                kind="placement", to__in=[p.subscription.customer.email for p in chunk]
            ).values_list("pk", flat=True)
        )

    summary = Email.objects.get(dedup_key=placement.placement_summary_key(world.cycle.pk))
    assert [sorted(ids) for ids in sends if ids] == [
        buyer_emails(proxies[0:2]),
        buyer_emails(proxies[2:4]),
        sorted([*buyer_emails(proxies[4:5]), summary.pk]),
    ]


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
    """A chunk is a handful of queries, whatever its size (set-based writes); the cycle's
    allocation is stored once, before the first chunk, in a few more."""
    for _ in range(60):
        world.subscribe([(world.variants[0], 1), (world.variants[1], 1), (world.variants[2], 1)])
    with django_assert_max_num_queries(34):
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


# --- the cycle's allocation, stored once --------------------------------------------------


class _Killed(BaseException):
    """A worker dying mid-placement: not an Exception, so nothing in placement catches it."""


def _place_until_killed(order_cycle, *, at: str, nth: int) -> None:
    """Run the cycle's placement and kill it just before the nth statement starting with
    `at` (what committed before stays, the chunk in progress is rolled back)."""
    seen = 0

    def die(execute, sql, params, many, context):
        nonlocal seen
        if statement_matches(sql, at):
            seen += 1
            if seen == nth:
                raise _Killed
        return execute(sql, params, many, context)

    with connection.execute_wrapper(die), pytest.raises(_Killed):
        place_cycle(order_cycle=order_cycle)


def _by_the_rule(proxies, world, policy: str) -> list[tuple[int, int]]:
    """What the allocation policy gives each subscription with all of them at once."""
    asked = [dict(p.subscription.line_items.values_list("variant_id", "quantity")) for p in proxies]
    per_variant = []
    for variant, stock in zip(world.variants[:2], SCARCE, strict=True):
        claims = [Claim(i, (i,), a[variant.pk]) for i, a in enumerate(asked)]
        per_variant.append(allocate(claims=claims, stock=stock, policy=policy))
    return [tuple(split[i] for split in per_variant) for i in range(len(proxies))]


@pytest.mark.parametrize("policy", ["fair_share", "first_come"])
@pytest.mark.parametrize(
    ("at", "nth"),
    [
        ('INSERT INTO "orders_order"', 3),  # two chunks committed, the third in progress
        ('UPDATE "subscriptions_proxyorder" SET state', 4),  # three committed, fourth mid-way
    ],
)
def test_a_rerun_after_a_crash_gives_everyone_what_an_uninterrupted_run_gives(
    monkeypatch, policy, at, nth
):
    """Placement killed after some chunks committed, then run again: every line has exactly
    the quantity of an uninterrupted run of an identical cycle, which is what the policy
    gives with every subscription counted; under fair share, buyers asking 2 or 3 get at
    least 1 (the re-run does not re-divide the leftover stock over the remaining orders)."""
    monkeypatch.setattr(placement, "CHUNK_SIZE", 7)
    calm, calm_proxies = scarce_world(policy)
    place_cycle(order_cycle=calm.cycle)
    crashed, crashed_proxies = scarce_world(policy)

    _place_until_killed(crashed.cycle, at=at, nth=nth)
    placed_before = Order.objects.filter(order_cycle=crashed.cycle).count()
    assert 0 < placed_before < len(crashed_proxies)
    place_cycle(order_cycle=crashed.cycle)

    expected = _by_the_rule(calm_proxies, calm, policy)
    assert given(calm, calm_proxies) == expected
    assert given(crashed, crashed_proxies) == expected
    if policy == "fair_share":
        asking_2_or_3 = [got for i, (got, _b) in enumerate(expected) if 1 + i % 3 >= 2]
        assert min(asking_2_or_3) >= 1
    assert Variant.objects.get(pk=crashed.variants[0].pk).on_hand == 0
    assert Variant.objects.get(pk=crashed.variants[1].pk).on_hand == 0


def test_the_allocation_is_stored_once_before_the_first_chunk_and_read_by_every_run(
    monkeypatch,
):
    """Placement stores the cycle's allocation (from the full stock, over every eligible
    proxy order) before it writes the first order; the chunk tasks and every later run read
    that row instead of computing it again, even after the stock moved."""
    monkeypatch.setattr(placement, "CHUNK_SIZE", 7)
    world, proxies = scarce_world("fair_share")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        _place_until_killed(world.cycle, at='INSERT INTO "orders_order"', nth=2)
    first_order = next(i for i, sql in enumerate(statements) if "orders_order" in sql)
    stored = [
        i for i, sql in enumerate(statements) if 'INTO "subscriptions_cycleallocation"' in sql
    ]
    # Two inserts: the first, trying the cycle as one chunk, was rolled back (more than a
    # chunk is eligible); the second is the allocation's own transaction.
    assert len(stored) == 2 and stored[1] < first_order
    assert CycleAllocation.objects.filter(order_cycle=world.cycle).count() == 1
    allocation = CycleAllocation.objects.get(order_cycle=world.cycle)
    assert allocation.policy == "fair_share"
    assert set(allocation.shares) == {str(world.variants[0].pk), str(world.variants[1].pk)}
    assert set(ProxyOrder.objects.filter(allocated=True).values_list("pk", flat=True)) == {
        p.pk for p in proxies
    }

    # A manager adds stock mid-cycle: the division stays the one stored (the extra units
    # are left for whoever comes later, first come).
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=F("on_hand") + 10)
    placement.place_cycle(order_cycle=world.cycle, fan_out=True)  # chunk tasks run inline

    assert CycleAllocation.objects.get() == allocation  # one row, the same
    assert CycleAllocation.objects.get().shares == allocation.shares
    assert given(world, proxies) == _by_the_rule(proxies, world, "fair_share")
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 10


def test_late_comers_are_served_first_come_from_the_stock_not_held_for_others():
    """After the allocation is stored (and some chunks placed), a subscription started
    mid-cycle and an older one unpaused are served, oldest first, only from stock nobody
    else's share holds; the allocated ones still pending get exactly their stored share."""
    world = make_world(on_hand=(7, 100, 100), allocation_policy="fair_share")
    paused = world.subscribe(
        [(world.variants[0], 2), (world.variants[1], 5)], paused_at=timezone.now()
    )
    proxies = [world.subscribe([(world.variants[0], q)]) for q in (4, 3, 4, 3)]
    placement.place_chunk(order_cycle_id=world.cycle.pk, proxy_order_ids=[proxies[0].pk])
    assert CycleAllocation.objects.filter(order_cycle=world.cycle).exists()

    # Started mid-cycle: 7 units, all held (3 placed + 1, 2, 1 still pending): nothing left.
    newcomer = world.subscribe([(world.variants[0], 2), (world.variants[1], 1)])
    summary = place_proxy_orders(proxy_order_ids=[newcomer.pk])
    assert summary.placed == [newcomer.pk]
    assert given(world, [newcomer]) == [(0, 1)]

    # The manager finds 2 more units; the unpaused (oldest) subscription gets them.
    Variant.objects.filter(pk=world.variants[0].pk).update(on_hand=F("on_hand") + 2)
    paused.subscription.paused_at = None
    paused.subscription.save()
    place_proxy_orders(proxy_order_ids=[paused.pk])
    assert given(world, [paused]) == [(2, 5)]

    place_cycle(order_cycle=world.cycle)
    assert [g for g, _b in given(world, proxies)] == [3, 1, 2, 1]  # fair share of 7 for 14
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 0


def test_a_late_comer_left_pending_is_served_by_the_next_run_after_the_allocated_ones():
    """A proxy order that became eligible after the allocation and was not placed at once
    (here: a paused subscription, the oldest, unpaused behind placement's back) is placed by
    the next run first come from the stock not held for others: being the oldest does not
    put it before those the allocation counted."""
    world = make_world(on_hand=(7, 100, 100), allocation_policy="first_come")
    late = world.subscribe([(world.variants[0], 3)], paused_at=timezone.now())
    first = world.subscribe([(world.variants[0], 4)])
    second = world.subscribe([(world.variants[0], 2)])
    cycle_allocation(order_cycle=world.cycle, now=timezone.now())
    Subscription.objects.filter(pk=late.subscription_id).update(paused_at=None)

    place_cycle(order_cycle=world.cycle)

    assert given(world, [first, second, late]) == [(4, 0), (2, 0), (1, 0)]
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == 0


@pytest.mark.parametrize("policy", ["first_come", "fair_share"])
def test_a_cycle_that_fits_in_one_chunk_stores_its_allocation_with_it(policy, monkeypatch):
    """A cycle whose eligible proxy orders fit in one chunk is placed in one transaction that
    also stores its allocation, computed from what the chunk read: the very division the
    allocation service computes from the database (a subscription that cannot be placed is
    counted too), with no separate marking; every proxy order is marked as counted, and the
    buyers get what they get when the same cycle is placed chunk by chunk."""
    world, proxies = scarce_world(policy)
    failing = proxies[3]
    Subscription.objects.filter(pk=failing.subscription_id).update(bill_address={})
    expected = cycle_shares(
        order_cycle=world.cycle,
        proxies=eligible_proxy_orders(order_cycle=world.cycle, now=timezone.now()),
        policy=policy,
    )
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        place_cycle(order_cycle=world.cycle)

    stored = CycleAllocation.objects.get(order_cycle=world.cycle)
    assert len(expected) == 2 and stored.shares == shares_to_json(expected)
    assert not any('SET "allocated"' in sql for sql in seen)
    assert set(ProxyOrder.objects.filter(allocated=True).values_list("pk", flat=True)) == {
        p.pk for p in proxies
    }
    failing.refresh_from_db()
    assert failing.state == ProxyOrderState.FAILED

    monkeypatch.setattr(placement, "CHUNK_SIZE", 7)
    chunked, chunked_proxies = scarce_world(policy)
    Subscription.objects.filter(pk=chunked_proxies[3].subscription_id).update(bill_address={})
    place_cycle(order_cycle=chunked.cycle)
    assert given(world, proxies) == given(chunked, chunked_proxies)
    again = CycleAllocation.objects.get(order_cycle=chunked.cycle).shares
    assert [again[str(v.pk)][:3] for v in chunked.variants[:2]] == [
        stored.shares[str(v.pk)][:3] for v in world.variants[:2]
    ]
