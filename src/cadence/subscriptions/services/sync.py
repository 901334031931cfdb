"""Keep proxy orders in step with subscriptions, schedules and order-cycle dates.

Set-based: whatever the number of subscriptions, a sync reads the subscriptions, their
schedules' cycles and their proxy orders in three queries, then writes one INSERT batch
(ignoring rows that already exist, so concurrent syncs are harmless: the unique constraint
on subscription × cycle decides) and one guarded DELETE.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cadence.cycles.models import OrderCycle, Schedule
from cadence.subscriptions.domain import ExistingProxy, sync_plan
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription

_BATCH = 1000


@transaction.atomic(savepoint=False)
def proxy_orders_sync(
    *, subscriptions: QuerySet[Subscription] | Iterable[Subscription], now: datetime | None = None
) -> None:
    """Create and delete proxy orders so each subscription has one per in-range cycle of its
    schedule that has not closed. Canceled subscriptions are left as they are; paused ones
    are synced (their proxy orders wait for the unpause). Ended ones are synced too: no cycle
    not closed can be in their range, so nothing is created for them, but an edit that ends a
    subscription must still remove its pending proxy orders now out of range."""
    now = now or timezone.now()
    if isinstance(subscriptions, QuerySet):
        qs = subscriptions
    else:
        qs = Subscription.objects.filter(pk__in=[s.pk for s in subscriptions])
    rows = list(
        qs.filter(canceled_at__isnull=True).values_list("pk", "schedule_id", "begins_at", "ends_at")
    )
    if not rows:
        return
    schedule_ids = {schedule_id for _, schedule_id, _, _ in rows}
    cycles_by_schedule: dict[int, dict[int, datetime]] = defaultdict(dict)
    for schedule_id, cycle_id, closes_at in Schedule.order_cycles.through.objects.filter(
        schedule_id__in=schedule_ids
    ).values_list("schedule_id", "ordercycle_id", "ordercycle__closes_at"):
        cycles_by_schedule[schedule_id][cycle_id] = closes_at
    existing: dict[int, list[ExistingProxy]] = defaultdict(list)
    for pk, sub_id, cycle_id, state, order_id in ProxyOrder.objects.filter(
        subscription_id__in=[r[0] for r in rows]
    ).values_list("pk", "subscription_id", "order_cycle_id", "state", "order_id"):
        existing[sub_id].append(ExistingProxy(pk, cycle_id, state, order_id is not None))

    to_create: list[ProxyOrder] = []
    to_delete: list[int] = []
    for sub_id, schedule_id, begins_at, ends_at in rows:
        create, delete = sync_plan(
            begins_at=begins_at,
            ends_at=ends_at,
            cycles=cycles_by_schedule.get(schedule_id, {}),
            existing=existing.get(sub_id, ()),
            now=now,
        )
        to_create.extend(
            ProxyOrder(subscription_id=sub_id, order_cycle_id=cid) for cid in sorted(create)
        )
        to_delete.extend(delete)
    if to_create:
        ProxyOrder.objects.bulk_create(to_create, batch_size=_BATCH, ignore_conflicts=True)
    if to_delete:
        # Guarded again in SQL: a proxy order placed since we read it is not deleted.
        ProxyOrder.objects.filter(
            pk__in=to_delete, state=ProxyOrderState.PENDING, order__isnull=True
        ).delete()


def proxy_orders_sync_for_cycle(*, order_cycle: OrderCycle, now: datetime | None = None) -> None:
    """Sync every subscription whose schedule holds the cycle or that has a proxy order in it."""
    subscriptions = Subscription.objects.filter(
        Q(schedule__order_cycles=order_cycle) | Q(proxy_orders__order_cycle=order_cycle)
    ).distinct()
    proxy_orders_sync(
        subscriptions=Subscription.objects.filter(pk__in=subscriptions.values("pk")), now=now
    )


def proxy_orders_sync_for_schedule(*, schedule: Schedule, now: datetime | None = None) -> None:
    proxy_orders_sync(subscriptions=Subscription.objects.filter(schedule=schedule), now=now)
