"""The engine's clock: the catch-up tick and the worker loop.

`run_tick` does, once and synchronously, everything that is due: unpause subscriptions
whose resume date has come, place every open cycle with eligible pending proxy orders,
confirm every closed cycle with placed orders (however long ago it closed), queue summaries
a crash may have left unqueued, and send due emails. Everything it calls is idempotent, so
running it twice, or while workers run, changes nothing the second time.

`run_worker` is the long-running process: it runs queued tasks (django-tasks-db, claimed
with SELECT … FOR UPDATE SKIP LOCKED, so any number of workers can run) and calls `run_tick`
every minute, so no cron needs to be installed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cadence.cycles.models import OrderCycle
from cadence.notifications.models import Email
from cadence.notifications.services import emails_send_due
from cadence.orders.models import OrderState
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import confirmation, placement

logger = logging.getLogger("cadence.worker")

CATCH_UP_EVERY = 60.0  # seconds
# Summaries lost to a crash are re-queued for cycles this recent (older ones are history).
SUMMARY_LOOKBACK = timedelta(days=7)


def _unpause_due(now: datetime) -> list[str]:
    try:
        from cadence.subscriptions.services.lifecycle import subscriptions_unpause_due
    except ImportError:  # pragma: no cover - the lifecycle services are part of the product
        return []
    failures = subscriptions_unpause_due(now=now)
    return [f"subscription {pk}: could not unpause: {errors}" for pk, errors in failures.items()]


def _cycle_label(cycle: OrderCycle) -> str:
    return f"{cycle.shop.name} / {cycle.name} (#{cycle.pk})"


def _took(started: float) -> str:
    return f"in {time.monotonic() - started:.1f}s"


def run_tick(*, now: datetime | None = None) -> list[str]:
    """Do everything due now; one line per cycle that was placed or confirmed (and one per
    other thing done). Returns [] when there was nothing to do."""
    now = now or timezone.now()
    lines = _unpause_due(now)

    pending = ProxyOrder.objects.filter(
        order_cycle=OuterRef("pk"), state=ProxyOrderState.PENDING, order__isnull=True
    )
    to_place = (
        OrderCycle.objects.filter(
            opens_at__lte=now, closes_at__gt=now, shop__enable_subscriptions=True
        )
        .filter(Exists(pending))
        .select_related("shop")
        .order_by("opens_at", "pk")
    )
    for cycle in to_place:
        started = time.monotonic()
        summary = placement.place_cycle(order_cycle=cycle, now=now)
        if summary.did_something:
            lines.append(f"placed {_cycle_label(cycle)}: {summary.describe()} {_took(started)}")

    unconfirmed = ProxyOrder.objects.filter(
        order_cycle=OuterRef("pk"), state=ProxyOrderState.PLACED, order__state=OrderState.COMPLETE
    )
    to_confirm = (
        OrderCycle.objects.filter(closes_at__lte=now)
        .filter(Exists(unconfirmed))
        .select_related("shop")
        .order_by("closes_at", "pk")
    )
    for cycle in to_confirm:
        started = time.monotonic()
        summary = confirmation.confirm_cycle(order_cycle=cycle, now=now)
        if summary.did_something:
            lines.append(f"confirmed {_cycle_label(cycle)}: {summary.describe()} {_took(started)}")

    lines += _requeue_lost_summaries(now)
    sent = emails_send_due(now=now)
    if sent:
        lines.append(f"sent {sent} email(s)")
    return lines


def _requeue_lost_summaries(now: datetime) -> list[str]:
    """Summaries whose cycle is done but whose email row is missing (a crash between the
    last chunk's commit and the summary's)."""
    lines = []
    worked = ProxyOrder.objects.filter(order_cycle=OuterRef("pk")).exclude(
        state__in=[ProxyOrderState.PENDING, ProxyOrderState.CANCELED]
    )
    open_cycles = list(
        OrderCycle.objects.filter(opens_at__lte=now, closes_at__gt=now - SUMMARY_LOOKBACK)
        .filter(Exists(worked), shop__enable_subscriptions=True)
        .select_related("shop")
    )
    keys = [placement.placement_summary_key(c.pk) for c in open_cycles] + [
        confirmation.confirmation_summary_key(c.pk) for c in open_cycles
    ]
    placed_keys = set(Email.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    for cycle in open_cycles:
        if placement.placement_summary_key(cycle.pk) not in placed_keys:
            if placement.placement_summary_queue_if_done(order_cycle=cycle, now=now):
                lines.append(f"placement summary queued for {_cycle_label(cycle)}")
        if cycle.closes_at <= now and (
            confirmation.confirmation_summary_key(cycle.pk) not in placed_keys
        ):
            if confirmation.confirmation_summary_queue_if_done(order_cycle=cycle, now=now):
                lines.append(f"confirmation summary queued for {_cycle_label(cycle)}")
    return lines


def _run_queued_tasks(worker_id: str) -> None:
    """Run every task that is ready in the database queue, then return."""
    from django.conf import settings

    backend_path = settings.TASKS.get("default", {}).get("BACKEND", "")
    if not backend_path.startswith("django_tasks_db"):
        return  # tasks run where they are enqueued (immediate backend): nothing queued
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def run_worker(
    *,
    interval: float = 1.0,
    catch_up_every: float = CATCH_UP_EVERY,
    stop: threading.Event | None = None,
    log: Callable[[str], None] | None = None,
    worker_id: str | None = None,
) -> None:
    """Run tasks and the catch-up tick until `stop` is set (or forever).

    Safe to run in a thread (it installs no signal handlers: the caller owns them) and in
    any number of processes at once. `log` receives the tick's lines (default: logging).
    """
    stop = stop or threading.Event()
    emit = log or logger.info
    worker_id = worker_id or f"cadence-{threading.get_ident()}-{int(time.time())}"
    next_tick = 0.0
    while not stop.is_set():
        close_old_connections()
        if time.monotonic() >= next_tick:
            try:
                for line in run_tick():
                    emit(line)
            except Exception:  # the next minute tries again; the worker keeps running
                logger.exception("catch-up tick failed")
            next_tick = time.monotonic() + catch_up_every
        try:
            _run_queued_tasks(worker_id)
        except Exception:
            logger.exception("running queued tasks failed")
        close_old_connections()
        stop.wait(interval)
