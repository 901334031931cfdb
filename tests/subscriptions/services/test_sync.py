"""Proxy-order sync: created for in-range cycles not closed, removed when out of range and
not placed, never duplicated, set-based."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from cadence.subscriptions.services.lifecycle import subscription_cancel
from cadence.subscriptions.services.sync import (
    proxy_orders_sync,
    proxy_orders_sync_for_cycle,
    proxy_orders_sync_for_schedule,
)
from tests.support import factories
from tests.support.subscriptions import place, subscribe, world

pytestmark = pytest.mark.django_db


def cycles_of(sub) -> set[int]:
    return set(sub.proxy_orders.values_list("order_cycle_id", flat=True))


def test_start_during_open_cycle_gets_order_in_it():
    """begins_at before the open cycle closes: a proxy order in it at once."""
    w = world()
    sub = subscribe(w, begins_at=w.now)
    assert cycles_of(sub) == {w.open.pk, w.upcoming.pk}


def test_end_within_cycle_means_no_order_in_it():
    """ends_at before a cycle closes: no proxy order for that cycle."""
    w = world()
    sub = subscribe(w, ends_at=w.upcoming.closes_at - timedelta(seconds=1))
    assert cycles_of(sub) == {w.open.pk}
    sub2 = subscribe(w, ends_at=w.upcoming.closes_at)
    assert cycles_of(sub2) == {w.open.pk, w.upcoming.pk}


def test_sync_is_idempotent():
    """Syncing again creates nothing more."""
    w = world()
    sub = subscribe(w)
    proxy_orders_sync(subscriptions=Subscription.objects.all(), now=w.now)
    proxy_orders_sync(subscriptions=[sub], now=w.now)
    assert ProxyOrder.objects.count() == 2


def test_cycle_removed_from_schedule_drops_pending_keeps_placed_and_skipped():
    """Removing cycles from the schedule deletes their pending proxy orders only."""
    w = world()
    sub = subscribe(w)
    extra = factories.order_cycle(
        w.shop, opens_at=w.now + timedelta(days=12), closes_at=w.now + timedelta(days=18)
    )
    w.schedule.order_cycles.add(extra)
    proxy_orders_sync_for_schedule(schedule=w.schedule, now=w.now)
    assert cycles_of(sub) == {w.open.pk, w.upcoming.pk, extra.pk}
    place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    sub.proxy_orders.filter(order_cycle=extra).update(state=ProxyOrderState.CANCELED)
    w.schedule.order_cycles.clear()
    proxy_orders_sync_for_schedule(schedule=w.schedule, now=w.now)
    assert dict(sub.proxy_orders.values_list("order_cycle_id", "state")) == {
        w.open.pk: "placed",
        extra.pk: "canceled",
    }


def test_redated_cycle_syncs_its_subscriptions():
    """A cycle moved beyond a subscription's end loses its pending proxy order, and gains
    one when moved back."""
    w = world()
    sub = subscribe(w, ends_at=w.now + timedelta(days=12))
    assert w.upcoming.pk in cycles_of(sub)
    w.upcoming.closes_at = w.now + timedelta(days=13)
    w.upcoming.save()
    proxy_orders_sync_for_cycle(order_cycle=w.upcoming, now=w.now)
    assert w.upcoming.pk not in cycles_of(sub)
    w.upcoming.closes_at = w.now + timedelta(days=11)
    w.upcoming.save()
    proxy_orders_sync_for_cycle(order_cycle=w.upcoming, now=w.now)
    assert w.upcoming.pk in cycles_of(sub)


def test_paused_synced_canceled_skipped():
    """Paused subscriptions get proxy orders; canceled ones are left alone."""
    w = world()
    paused = subscribe(w)
    Subscription.objects.filter(pk=paused.pk).update(paused_at=w.now)
    canceled = subscribe(w)
    subscription_cancel(subscription=canceled, open_orders=None, now=w.now)
    extra = factories.order_cycle(
        w.shop, opens_at=w.now + timedelta(days=12), closes_at=w.now + timedelta(days=18)
    )
    w.schedule.order_cycles.add(extra)
    proxy_orders_sync_for_schedule(schedule=w.schedule, now=w.now)
    assert extra.pk in cycles_of(paused)
    assert extra.pk not in cycles_of(canceled)


def test_sync_of_many_subscriptions_uses_a_few_queries():
    """Set-based: the number of queries does not grow with the number of subscriptions."""
    w = world()
    subs = [subscribe(w) for _ in range(3)]
    ProxyOrder.objects.all().delete()
    with CaptureQueriesContext(connection) as few:
        proxy_orders_sync(subscriptions=Subscription.objects.filter(pk__in=[subs[0].pk]), now=w.now)
    for _ in range(20):
        subs.append(subscribe(w))
    ProxyOrder.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        proxy_orders_sync(subscriptions=Subscription.objects.all(), now=w.now)
    assert ProxyOrder.objects.count() == 2 * len(subs)
    assert len(many) == len(few) <= 6
