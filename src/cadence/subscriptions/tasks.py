"""Background tasks of the engine: thin wrappers that load by id and call one service.

Placement of a cycle is enqueued for its `opens_at` and confirmation for its `closes_at`
(`run_after`); placement stores the cycle's allocation before fanning out into chunk tasks,
and every chunk (and every retry of one) reads it from the database. When a cycle is
re-dated the new tasks are enqueued too; the old ones wake up, see that the cycle's date is
no longer the one they were enqueued for, and do nothing. The worker's catch-up
(`services.processing.run_tick`) is the safety net behind all of them.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task, task_backends

from cadence.cycles.domain import is_current
from cadence.cycles.selectors import order_cycle_get
from cadence.subscriptions.services import confirmation, placement

logger = logging.getLogger("cadence.tasks")


def _same_moment(stored, iso: str) -> bool:
    return stored.isoformat() == iso


@task()
def place_cycle_task(*, order_cycle_id: int, opens_at: str) -> str:
    """Placement of a cycle at its opening: fans out into chunk tasks."""
    order_cycle = order_cycle_get(order_cycle_id=order_cycle_id)
    if order_cycle is None or not _same_moment(order_cycle.opens_at, opens_at):
        return "stale"
    summary = placement.place_cycle(order_cycle=order_cycle, fan_out=True)
    return summary.describe()


@task()
def place_chunk_task(
    *, order_cycle_id: int, proxy_order_ids: list[int], shares: dict | None = None
) -> str:
    """One chunk of a cycle's placement (a few hundred proxy orders), with the cycle's
    stored allocation. `shares` is ignored: chunks queued before the allocation was stored
    in the database carried it; the stored one is what every chunk and retry uses."""
    del shares
    if order_cycle_get(order_cycle_id=order_cycle_id) is None:
        return "stale"
    summary = placement.place_chunk(order_cycle_id=order_cycle_id, proxy_order_ids=proxy_order_ids)
    return summary.describe()


@task()
def confirm_cycle_task(*, order_cycle_id: int, closes_at: str) -> str:
    """Confirmation of a cycle at its close."""
    order_cycle = order_cycle_get(order_cycle_id=order_cycle_id)
    if order_cycle is None or not _same_moment(order_cycle.closes_at, closes_at):
        return "stale"
    return confirmation.confirm_cycle(order_cycle=order_cycle).describe()


def enqueue_cycle_processing(order_cycle_id: int) -> None:
    """Enqueue placement at the cycle's opening and confirmation at its close.

    Call it after commit whenever a cycle is created, re-dated or cloned. With a task
    backend that cannot defer (the immediate backend used by tests), nothing is enqueued:
    running now would place early, and the worker's catch-up places and confirms on time
    anyway.
    """
    backend = task_backends["default"]
    if not backend.supports_defer:
        return
    cycle = order_cycle_get(order_cycle_id=order_cycle_id)
    if cycle is None:
        return
    now = timezone.now()
    opens_at, closes_at = cycle.opens_at, cycle.closes_at
    if is_current(closes_at=closes_at, now=now):
        place_cycle_task.using(run_after=max(opens_at, now)).enqueue(
            order_cycle_id=order_cycle_id, opens_at=opens_at.isoformat()
        )
    confirm_cycle_task.using(run_after=max(closes_at, now)).enqueue(
        order_cycle_id=order_cycle_id, closes_at=closes_at.isoformat()
    )
