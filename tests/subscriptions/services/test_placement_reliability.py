"""Reliability on PostgreSQL: concurrent workers, workers killed mid-way, time zones.

These tests commit for real (other connections and processes must see the rows), so they
use `transactional_db`.
"""

from __future__ import annotations

import time
import zoneinfo
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.notifications.models import Email
from cadence.orders.models import LineItem, Order, OrderState
from cadence.subscriptions.models import CycleAllocation, ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import placement
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.cycle_allocation import cycle_allocation
from cadence.subscriptions.services.placement import place_cycle
from cadence.subscriptions.services.processing import run_tick
from tests.support.concurrency import run_at_once
from tests.support.workers import crash_worker_run
from tests.support.worlds import assert_no_email_twice, given, make_world, scarce_world


def _world_with_subscriptions(n: int, stock: int):
    world = make_world(on_hand=(stock, 10_000, 10_000))
    proxies = [
        world.subscribe([(world.variants[0], 1 + i % 3), (world.variants[1], 1)]) for i in range(n)
    ]
    return world, proxies


def _assert_placed_once_and_stock_conserved(world, proxies, initial: dict[int, int]):
    states = Counter(
        ProxyOrder.objects.filter(pk__in=[p.pk for p in proxies]).values_list("state", flat=True)
    )
    assert states[ProxyOrderState.PENDING] == 0, states
    orders = Order.objects.filter(order_cycle=world.cycle)
    placed = ProxyOrder.objects.filter(pk__in=[p.pk for p in proxies], order__isnull=False)
    assert orders.count() == placed.count()  # one order per proxy order (and no orphan)
    for variant_id, before in initial.items():
        taken = (
            LineItem.objects.filter(order__in=orders, variant_id=variant_id)
            .exclude(order__state=OrderState.CANCELED)
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        assert Variant.objects.get(pk=variant_id).on_hand + taken == before
    return placed


@pytest.mark.postgres
def test_two_workers_placing_the_same_cycle_place_each_proxy_order_once(
    transactional_db, monkeypatch
):
    """Two workers run the same cycle's placement at the same moment (small chunks, so they
    interleave): every proxy order gets exactly one order, stock is conserved and scarce
    stock is never oversold."""
    monkeypatch.setattr(placement, "CHUNK_SIZE", 7)
    world, proxies = _world_with_subscriptions(120, stock=150)
    initial = {v.pk: v.on_hand for v in world.variants}
    run_at_once(lambda: place_cycle(order_cycle=world.cycle))

    _assert_placed_once_and_stock_conserved(world, proxies, initial)
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand >= 0
    assert CycleAllocation.objects.filter(order_cycle=world.cycle).count() == 1
    assert_no_email_twice()


@pytest.mark.postgres
def test_two_workers_placing_a_cycle_that_fits_in_one_chunk_place_each_proxy_order_once(
    transactional_db,
):
    """Two workers reach a cycle that fits in one chunk at the same moment, each to store its
    allocation with the chunk: one allocation row, exactly one order per proxy order, stock
    conserved and never oversold, no email twice, the shop's summary once."""
    world, proxies = _world_with_subscriptions(40, stock=50)
    initial = {v.pk: v.on_hand for v in world.variants}

    run_at_once(lambda: place_cycle(order_cycle=world.cycle))

    placed = _assert_placed_once_and_stock_conserved(world, proxies, initial)
    assert placed.count() == len(proxies)
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand >= 0
    assert CycleAllocation.objects.filter(order_cycle=world.cycle).count() == 1
    assert ProxyOrder.objects.filter(order_cycle=world.cycle, allocated=False).count() == 0
    assert_no_email_twice()
    assert Email.objects.filter(kind="placement_summary").count() == 1


@pytest.mark.postgres
def test_two_workers_starting_a_cycle_at_once_store_one_allocation_and_read_it_both(
    transactional_db,
):
    """Two workers reach a fair-share cycle's first placement together; each lingers after
    inserting the allocation, so the second insert meets the first one's open transaction:
    one row is stored, both get that row, and the marked proxy orders are those it counts."""
    world, proxies = scarce_world("fair_share", n=30)

    def linger_after_insert(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('INSERT INTO "subscriptions_cycleallocation"'):
            time.sleep(0.2)
        return result

    def allocate():
        with connection.execute_wrapper(linger_after_insert):
            return cycle_allocation(order_cycle=world.cycle, now=timezone.now())

    got = run_at_once(allocate)
    stored = CycleAllocation.objects.get()
    assert [(a.pk, a.shares) for a in got] == [(stored.pk, stored.shares)] * 2
    assert stored.shares[str(world.variants[0].pk)][1:3] == [47, 60]  # full stock, all asked
    assert set(ProxyOrder.objects.filter(allocated=True).values_list("pk", flat=True)) == {
        p.pk for p in proxies
    }


PLACEMENT_KILL_POINTS = [
    ('INSERT INTO "orders_order"', 1, "before"),  # first chunk, mid-transaction
    ('UPDATE "subscriptions_proxyorder"', 1, "after"),  # first chunk, just before commit
    ('INSERT INTO "notifications_email"', 3, "after"),  # third chunk, before commit
    # After two chunks committed (the first FOR UPDATE is the attempt at placing the cycle
    # in one chunk, given up as it holds more: 35 proxy orders for chunks of 10).
    ("FOR UPDATE", 6, "before"),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("fragment", "nth", "when"), PLACEMENT_KILL_POINTS)
def test_a_worker_killed_during_placement_loses_nothing_and_duplicates_nothing(
    transactional_db, smtp_server, fragment, nth, when
):
    """A worker SIGKILLed at any point of placement; then a tick: every eligible proxy order
    has exactly one order, stock is conserved, each email exists and is sent once."""
    world, proxies = _world_with_subscriptions(35, stock=40)
    initial = {v.pk: v.on_hand for v in world.variants}

    assert crash_worker_run("place", world.cycle.pk, fragment, nth, when) == -9

    run_tick()
    placed = _assert_placed_once_and_stock_conserved(world, proxies, initial)
    assert placed.count() + ProxyOrder.objects.filter(state=ProxyOrderState.EMPTY).count() == 35
    assert_no_email_twice()
    sent = Counter(m["To"] for m in smtp_server.messages)
    assert all(n == 1 for n in sent.values())
    assert run_tick() == []  # and a second tick has nothing left to do


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("fragment", "nth", "when"),
    [
        ('INSERT INTO "subscriptions_cycleallocation"', 1, "after"),  # the allocation claimed
        ('INSERT INTO "orders_order"', 1, "after"),  # its orders written, before the commit
    ],
)
def test_a_worker_killed_placing_a_cycle_in_one_chunk_leaves_no_allocation_behind(
    transactional_db, fragment, nth, when
):
    """A worker SIGKILLed inside the one transaction that places a small cycle and stores
    its allocation leaves neither: the catch-up places every proxy order once, with one
    allocation that counts them all."""
    world, proxies = _world_with_subscriptions(8, stock=9)
    initial = {v.pk: v.on_hand for v in world.variants}

    assert crash_worker_run("place", world.cycle.pk, fragment, nth, when) == -9
    assert not CycleAllocation.objects.filter(order_cycle=world.cycle).exists()
    assert not Order.objects.filter(order_cycle=world.cycle).exists()

    run_tick()
    placed = _assert_placed_once_and_stock_conserved(world, proxies, initial)
    assert placed.count() == len(proxies)
    assert CycleAllocation.objects.filter(order_cycle=world.cycle).count() == 1
    assert ProxyOrder.objects.filter(order_cycle=world.cycle, allocated=False).count() == 0
    assert_no_email_twice()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("fragment", "nth", "when"),
    [
        # Two chunks of 10 committed, the third not begun (after the attempt at one chunk).
        ("FOR UPDATE", 6, "before"),
        ('INSERT INTO "orders_order"', 3, "after"),  # the third chunk mid-transaction
    ],
)
def test_a_worker_killed_between_fair_share_chunks_changes_nobody_s_share(
    transactional_db, monkeypatch, fragment, nth, when
):
    """A real worker process placing a fair-share cycle is SIGKILLed between chunks; the
    catch-up finishes the cycle with the allocation the worker stored before its first
    chunk: every line has the quantity of an uninterrupted run of an identical cycle, and
    buyers asking 2 or 3 get at least 1."""
    monkeypatch.setattr(placement, "CHUNK_SIZE", 10)  # as the crash worker
    calm, calm_proxies = scarce_world("fair_share")
    place_cycle(order_cycle=calm.cycle)
    crashed, crashed_proxies = scarce_world("fair_share")
    initial = {v.pk: v.on_hand for v in crashed.variants}

    assert crash_worker_run("place", crashed.cycle.pk, fragment, nth, when) == -9

    stored = CycleAllocation.objects.get(order_cycle=crashed.cycle)
    placed = Order.objects.filter(order_cycle=crashed.cycle).count()
    assert 0 < placed < len(crashed_proxies)
    run_tick()

    expected = given(calm, calm_proxies)
    assert given(crashed, crashed_proxies) == expected
    assert min(got for i, (got, _b) in enumerate(expected) if i % 3) >= 1  # asked 2 or 3
    after = CycleAllocation.objects.get(order_cycle=crashed.cycle)
    assert (after.pk, after.computed_at, after.shares) == (
        stored.pk,
        stored.computed_at,
        stored.shares,
    )
    calm_shares = CycleAllocation.objects.get(order_cycle=calm.cycle).shares
    assert [after.shares[str(v.pk)][:3] for v in crashed.variants[:2]] == [
        calm_shares[str(v.pk)][:3] for v in calm.variants[:2]
    ]  # the full stock over the full demand, as in the uninterrupted run
    _assert_placed_once_and_stock_conserved(crashed, crashed_proxies, initial)


def test_cycle_boundaries_follow_the_shop_time_zone_across_a_dst_change(db):
    """A Paris cycle opening Saturday 28 March 2026 at 10:00 (UTC+1) and closing Sunday 29
    March at 10:00 (UTC+2, after the clocks went forward): placed from 09:00 UTC, not a
    second before; confirmed from 08:00 UTC on Sunday, not a second before; the email shows
    the closing time in Paris time."""
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    opens = datetime(2026, 3, 28, 10, 0, tzinfo=paris)
    closes = datetime(2026, 3, 29, 10, 0, tzinfo=paris)
    world = make_world(timezone="Europe/Paris", allow_order_changes=True)
    world.cycle.opens_at, world.cycle.closes_at = opens, closes
    world.cycle.save()
    proxy = world.subscribe(begins_at=opens - timedelta(days=7))
    utc = zoneinfo.ZoneInfo("UTC")

    assert run_tick(now=datetime(2026, 3, 28, 8, 59, 59, tzinfo=utc)) == []
    run_tick(now=datetime(2026, 3, 28, 9, 0, tzinfo=utc))
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED

    assert not confirm_cycle(
        order_cycle=world.cycle, now=datetime(2026, 3, 29, 7, 59, 59, tzinfo=utc)
    ).confirmed
    run_tick(now=datetime(2026, 3, 29, 8, 0, tzinfo=utc))
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.CONFIRMED

    from cadence.notifications.rendering import render_email

    _subject, text, _html = render_email(Email.objects.get(kind="placement"))
    assert "10:00" in text or "10 a.m." in text
    assert closes.astimezone(utc).hour == 8  # 10:00 Paris is 08:00 UTC after the change
