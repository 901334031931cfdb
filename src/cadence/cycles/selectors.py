"""Reads on order cycles and schedules."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise


def order_cycles_for_shop(*, shop: Enterprise) -> QuerySet[OrderCycle]:
    return OrderCycle.objects.filter(shop=shop).order_by("opens_at", "id")


def schedules_for_shop(*, shop: Enterprise) -> QuerySet[Schedule]:
    """The shop's schedules that are not deleted."""
    return Schedule.objects.filter(shop=shop, deleted_at__isnull=True).order_by("name", "id")


def next_cycle_of_schedule(*, schedule: Schedule, now: datetime | None = None) -> OrderCycle | None:
    """The schedule's cycle that closes first among those not closed yet (open or upcoming):
    the one whose prices and fees an estimate uses."""
    now = now or timezone.now()
    return (
        schedule.order_cycles.filter(closes_at__gt=now)
        .order_by("closes_at", "id")
        .prefetch_related("fees")
        .first()
    )


def variant_ids_in_not_closed_cycles(
    *, schedule: Schedule, now: datetime | None = None
) -> set[int]:
    """Ids of the variants offered by an open or upcoming cycle of the schedule."""
    now = now or timezone.now()
    through = OrderCycle.variants.through
    return set(
        through.objects.filter(
            ordercycle__schedules=schedule, ordercycle__closes_at__gt=now
        ).values_list("variant_id", flat=True)
    )
