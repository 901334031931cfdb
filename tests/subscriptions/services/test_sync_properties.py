"""Property of the proxy-order sync: whatever the dates and the edits, after every sync each
subscription has exactly one proxy order per in-range cycle of its schedule that has not
closed, keeps every placed one, and keeps nothing else but pending proxy orders of in-range
cycles that closed since they were made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.cycles.models import OrderCycle
from cadence.subscriptions.domain import in_range
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from cadence.subscriptions.services.sync import (
    proxy_orders_sync,
    proxy_orders_sync_for_cycle,
    proxy_orders_sync_for_schedule,
)
from tests.support import factories

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

cycle_dates = st.tuples(st.integers(-300, 300), st.integers(1, 200))
sub_dates = st.tuples(st.integers(-400, 400), st.one_of(st.none(), st.integers(1, 800)))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("dates"), st.integers(0, 1), sub_dates),
        st.tuples(st.just("redate"), st.integers(0, 5), cycle_dates),
        st.tuples(st.just("toggle"), st.integers(0, 5), st.none()),
        st.tuples(st.just("place"), st.integers(0, 1), st.integers(0, 5)),
    ),
    max_size=8,
)


@pytest.fixture
def base(db):
    shop = factories.shop("Property Shop")
    return {
        "shop": shop,
        "customer": factories.customer(shop),
        "shipping": factories.shipping_method(shop),
        "payment": factories.payment_method(shop),
    }


def _begin_end(dates):
    begin_off, length = dates
    begins_at = T + begin_off * HOUR
    return begins_at, (None if length is None else begins_at + length * HOUR)


def _check(subs, schedule, placed, before):
    """The invariant, for every subscription, after a sync."""
    members = {c.pk: c.closes_at for c in schedule.order_cycles.all()}
    all_closes = dict(OrderCycle.objects.values_list("pk", "closes_at"))
    for sub in subs:
        sub.refresh_from_db()
        rows = list(sub.proxy_orders.values_list("pk", "order_cycle_id", "state"))
        cycle_ids = [cid for _pk, cid, _s in rows]
        assert len(cycle_ids) == len(set(cycle_ids)), "never twice"
        if sub.canceled_at is None:
            wanted = {
                cid
                for cid, closes_at in members.items()
                if closes_at > T
                and in_range(begins_at=sub.begins_at, ends_at=sub.ends_at, closes_at=closes_at)
            }
            assert wanted <= set(cycle_ids), "one per in-range cycle not closed"
        for pk, cid, state in rows:
            if state != ProxyOrderState.PENDING:
                assert pk in placed, "only placed ones are not pending here"
                continue
            assert cid in members, "a pending one's cycle is in the schedule"
            assert in_range(
                begins_at=sub.begins_at, ends_at=sub.ends_at, closes_at=all_closes[cid]
            ), "a pending one is in range"
            if all_closes[cid] <= T:
                assert pk in before, "a pending one of a closed cycle is not new"
    assert placed <= set(ProxyOrder.objects.values_list("pk", flat=True)), "placed ones stay"


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cycles=st.lists(cycle_dates, min_size=1, max_size=6),
    members=st.lists(st.booleans(), min_size=6, max_size=6),
    subs_dates=st.lists(sub_dates, min_size=2, max_size=2),
    edits=steps,
)
def test_sync_keeps_proxy_orders_exact(base, cycles, members, subs_dates, edits):
    """After any sequence of edits and syncs, the proxy orders are exactly what the rules
    say (see the module docstring)."""
    sid = transaction.savepoint()
    try:
        shop = base["shop"]
        ocs = [
            factories.order_cycle(
                shop, opens_at=T + o * HOUR, closes_at=T + (o + d) * HOUR, name=f"C{i}"
            )
            for i, (o, d) in enumerate(cycles)
        ]
        schedule = factories.schedule(shop, [oc for oc, m in zip(ocs, members, strict=False) if m])
        subs = []
        for dates in subs_dates:
            begins_at, ends_at = _begin_end(dates)
            subs.append(
                Subscription.objects.create(
                    shop=shop,
                    customer=base["customer"],
                    schedule=schedule,
                    payment_method=base["payment"],
                    shipping_method=base["shipping"],
                    bill_address={},
                    ship_address={},
                    begins_at=begins_at,
                    ends_at=ends_at,
                )
            )
        placed: set[int] = set()
        before = set(ProxyOrder.objects.values_list("pk", flat=True))
        proxy_orders_sync(subscriptions=Subscription.objects.filter(shop=shop), now=T)
        _check(subs, schedule, placed, before)
        for kind, index, arg in edits:
            before = set(ProxyOrder.objects.values_list("pk", flat=True))
            if kind == "dates":
                sub = subs[index]
                sub.begins_at, sub.ends_at = _begin_end(arg)
                sub.save(update_fields=["begins_at", "ends_at"])
                proxy_orders_sync(subscriptions=[sub], now=T)
            elif kind == "redate":
                oc = ocs[index % len(ocs)]
                oc.opens_at, oc.closes_at = T + arg[0] * HOUR, T + (arg[0] + arg[1]) * HOUR
                oc.save(update_fields=["opens_at", "closes_at"])
                proxy_orders_sync_for_cycle(order_cycle=oc, now=T)
            elif kind == "toggle":
                oc = ocs[index % len(ocs)]
                if schedule.order_cycles.filter(pk=oc.pk).exists():
                    schedule.order_cycles.remove(oc)
                else:
                    schedule.order_cycles.add(oc)
                proxy_orders_sync_for_schedule(schedule=schedule, now=T)
            else:
                pending = list(
                    subs[index]
                    .proxy_orders.filter(state=ProxyOrderState.PENDING)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                if pending:
                    pk = pending[arg % len(pending)]
                    ProxyOrder.objects.filter(pk=pk).update(
                        state=ProxyOrderState.PLACED, placed_at=T
                    )
                    placed.add(pk)
                    before.add(pk)
            _check(subs, schedule, placed, before)
    finally:
        transaction.savepoint_rollback(sid)
