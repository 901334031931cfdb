"""Use cases on order cycles and schedules that keep subscriptions' proxy orders in step.

Each validates and writes through `cadence.cycles.services`, then syncs the proxy orders of
the subscriptions concerned, in one transaction; a created, changed or cloned cycle has its
placement and confirmation (re)scheduled after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cadence.cycles import services as cycle_services
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict
from cadence.notifications.after_commit import run_on_commit
from cadence.orders.models import Order
from cadence.subscriptions.models import ProxyOrder, Subscription
from cadence.subscriptions.services.sync import (
    proxy_orders_sync_for_cycle,
    proxy_orders_sync_for_schedule,
)


def _process_after_commit(order_cycle_id: int) -> None:
    def enqueue() -> None:
        # The engine's tasks import these services; importing them here, late, avoids a cycle.
        from cadence.subscriptions.tasks import enqueue_cycle_processing

        enqueue_cycle_processing(order_cycle_id)

    # Should the enqueue fail, the worker's catch-up places and confirms the cycle on time.
    run_on_commit(enqueue)


@transaction.atomic
def order_cycle_create(
    *,
    shop: Enterprise,
    name: str,
    opens_at: Any,
    closes_at: Any,
    variant_ids: Iterable[int] = (),
    fees: Iterable[dict[str, Any]] = (),
    now: datetime | None = None,
) -> OrderCycle:
    """Raises ValidationFailed (name, opens_at, closes_at, variant_ids, fees)."""
    now = now or timezone.now()
    order_cycle = cycle_services.order_cycle_create(
        shop=shop,
        name=name,
        opens_at=opens_at,
        closes_at=closes_at,
        variant_ids=variant_ids,
        fees=fees,
    )
    proxy_orders_sync_for_cycle(order_cycle=order_cycle, now=now)
    _process_after_commit(order_cycle.pk)
    return order_cycle


@transaction.atomic
def order_cycle_update(
    *, order_cycle: OrderCycle, changes: dict[str, Any], now: datetime | None = None
) -> OrderCycle:
    """Change a cycle (the lists replace); re-dating it re-syncs every subscription of its
    schedules. Moving `closes_at` to the past closes the cycle early. Raises ValidationFailed."""
    now = now or timezone.now()
    order_cycle = OrderCycle.objects.select_for_update().get(pk=order_cycle.pk)
    order_cycle, redated = cycle_services.order_cycle_update(
        order_cycle=order_cycle, changes=changes
    )
    if redated:
        proxy_orders_sync_for_cycle(order_cycle=order_cycle, now=now)
    _process_after_commit(order_cycle.pk)
    return order_cycle


@transaction.atomic
def order_cycle_clone(
    *,
    order_cycle: OrderCycle,
    opens_at: Any,
    closes_at: Any,
    name: str | None = None,
    now: datetime | None = None,
) -> OrderCycle:
    """A copy with new dates, in the same schedules (whose subscriptions get proxy orders
    for it). Raises ValidationFailed (opens_at, closes_at)."""
    now = now or timezone.now()
    clone = cycle_services.order_cycle_clone(
        order_cycle=order_cycle, opens_at=opens_at, closes_at=closes_at, name=name
    )
    proxy_orders_sync_for_cycle(order_cycle=clone, now=now)
    _process_after_commit(clone.pk)
    return clone


@transaction.atomic
def order_cycle_delete(*, order_cycle: OrderCycle) -> None:
    """Raises Conflict while the cycle is in a schedule or has orders."""
    if order_cycle.schedules.exists():
        raise Conflict(_("This order cycle is in a schedule; remove it from the schedule first."))
    if Order.objects.filter(order_cycle=order_cycle).exists():
        raise Conflict(_("This order cycle has orders and cannot be deleted."))
    # Deliveries without an order (skipped, empty, failed) mean nothing without their cycle.
    ProxyOrder.objects.filter(order_cycle=order_cycle, order__isnull=True).delete()
    cycle_services.order_cycle_delete(order_cycle=order_cycle)


@transaction.atomic
def schedule_create(
    *, shop: Enterprise, name: str, order_cycle_ids: Iterable[int] = (), now: datetime | None = None
) -> Schedule:
    """Raises ValidationFailed (name, order_cycle_ids: only the shop's cycles)."""
    return cycle_services.schedule_create(shop=shop, name=name, order_cycle_ids=order_cycle_ids)


@transaction.atomic
def schedule_update(
    *, schedule: Schedule, changes: dict[str, Any], now: datetime | None = None
) -> Schedule:
    """Rename and/or replace the set of cycles; when the set changed, the subscriptions on
    the schedule are synced (proxy orders of cycles removed are deleted unless placed).
    Raises ValidationFailed."""
    now = now or timezone.now()
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    schedule, changed = cycle_services.schedule_update(schedule=schedule, changes=changes)
    if changed:
        proxy_orders_sync_for_schedule(schedule=schedule, now=now)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule, now: datetime | None = None) -> None:
    """Raises Conflict while a subscription that is not canceled uses the schedule. One used
    only by canceled subscriptions is deleted softly (their history stays)."""
    now = now or timezone.now()
    in_use = Subscription.objects.filter(schedule=schedule, canceled_at__isnull=True).count()
    if in_use:
        raise Conflict(
            ngettext(
                "This schedule is used by %(count)d subscription and cannot be deleted.",
                "This schedule is used by %(count)d subscriptions and cannot be deleted.",
                in_use,
            )
            % {"count": in_use}
        )
    cycle_services.schedule_delete(schedule=schedule, now=now)
