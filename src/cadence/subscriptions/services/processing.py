"""The engine's clock: the catch-up tick and the worker loop.

`run_tick` does, once and synchronously, everything that is due: unpause subscriptions
whose resume date has come, place every open cycle with eligible pending proxy orders,
confirm every closed cycle with placed orders (however long ago it closed), queue summaries
a crash may have left unqueued, and send due emails. Everything it calls is idempotent, so
running it twice, or while workers run, changes nothing the second time.

`run_worker` is the long-running process: it runs queued tasks (django-tasks-db, claimed
with SELECT … FOR UPDATE SKIP LOCKED, so any number of workers can run) and calls `run_tick`
every minute, so no cron needs to be installed.

A task whose worker died while running it (SIGKILL, lost machine) stays `RUNNING` in the
queue. A task holds a lease (`TASK_LEASE_SECONDS`, 10 minutes by default) from its start,
which its worker renews while the task runs (`started_at` moved forward every quarter of
the lease, so a long task is never taken for abandoned; the row of a task that ran longer
than that shows its last renewal as its start). Before running tasks, a worker
queues again, with their arguments, the running tasks whose lease has run out
(`requeue_abandoned_tasks`); every task is idempotent, so running one again is safe. A task
that lost its worker MAX_TASK_RUNS times is marked failed instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cadence.cycles.domain import order_cycle_is_closed
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import closed_q, open_q, opened_q
from cadence.notifications.models import Email
from cadence.notifications.services import emails_send_due
from cadence.orders.models import OrderState
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.selectors import eligible_proxy_orders
from cadence.subscriptions.services import confirmation, placement
from cadence.subscriptions.services.lifecycle import subscriptions_unpause_due

logger = logging.getLogger("cadence.worker")

CATCH_UP_EVERY = 60.0  # seconds
# Summaries lost to a crash are re-queued for cycles this recent (older ones are history).
SUMMARY_LOOKBACK = timedelta(days=7)
# A task whose worker died is run at most this many times in all (each run's worker is in
# the row's `worker_ids`); then it is marked failed, so that a task that kills its worker
# every time (memory, a crash in a library) does not take a worker down every lease.
MAX_TASK_RUNS = 3


class TickLine(str):
    """One line of what a tick did, as printed (`placed Shop / Week 12 (#7): placed 40 …
    in 1.2s`), carrying the same facts as `fields` (event, shop, cycle, counts, seconds)
    for a structured log (`LOG_FORMAT=json`)."""

    fields: dict[str, Any]

    def __new__(cls, text: str, **fields: Any) -> TickLine:
        line = super().__new__(cls, text)
        line.fields = fields
        return line


def log_line(line: TickLine) -> None:
    """Log a tick's or task's line with its facts as fields (one JSON object per line with
    `LOG_FORMAT=json`)."""
    logger.info("%s", line, extra=getattr(line, "fields", {}))


# How a caller shows progress: `progress(label, total)` is a context manager giving a
# function told how many more items are done (see `cadence.cli`: a bar on a terminal);
# `total` is None when not known beforehand (the emails due).
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], object]]]


def _unpause_due(now: datetime) -> list[TickLine]:
    failures = subscriptions_unpause_due(now=now)
    return [
        TickLine(
            f"subscription {pk}: could not unpause: {errors}",
            event="unpause_failed",
            subscription_id=pk,
            errors=str(errors),
        )
        for pk, errors in failures.items()
    ]


def _cycle_label(cycle: OrderCycle) -> str:
    return f"{cycle.shop.name} / {cycle.name} (#{cycle.pk})"


def _cycle_line(
    event: str, cycle: OrderCycle, described: str, counts: dict[str, int], started: float
) -> TickLine:
    seconds = round(time.monotonic() - started, 3)
    return TickLine(
        f"{event} {_cycle_label(cycle)}: {described} in {seconds:.1f}s",
        event=event,
        shop_id=cycle.shop_id,
        shop=cycle.shop.name,
        order_cycle_id=cycle.pk,
        order_cycle=cycle.name,
        duration_s=seconds,
        **counts,
    )


@contextmanager
def _no_progress(label: str, total: int | None) -> Iterator[Callable[[int], object]]:
    yield lambda done: None


def run_tick(*, now: datetime | None = None, progress: Progress | None = None) -> list[TickLine]:
    """Do everything due now; one line per cycle that was placed or confirmed (and one per
    other thing done). Returns [] when there was nothing to do. With `progress`, each
    cycle's placement and confirmation report their chunks as they go."""
    now = now or timezone.now()
    lines = _unpause_due(now)

    pending = ProxyOrder.objects.filter(
        order_cycle=OuterRef("pk"), state=ProxyOrderState.PENDING, order__isnull=True
    )
    to_place = (
        OrderCycle.objects.filter(open_q(now), shop__enable_subscriptions=True)
        .filter(Exists(pending))
        .select_related("shop")
        .order_by("opens_at", "pk")
    )
    for cycle in to_place:
        started = time.monotonic()
        total = (
            eligible_proxy_orders(order_cycle=cycle, now=now).count() if progress is not None else 0
        )
        with (progress or _no_progress)(f"placing {_cycle_label(cycle)}", total) as advance:
            summary = placement.place_cycle(order_cycle=cycle, now=now, on_chunk=advance)
        if summary.did_something:
            lines.append(
                _cycle_line("placed", cycle, summary.describe(), summary.counts(), started)
            )

    unconfirmed = ProxyOrder.objects.filter(
        order_cycle=OuterRef("pk"), state=ProxyOrderState.PLACED, order__state=OrderState.COMPLETE
    )
    to_confirm = (
        OrderCycle.objects.filter(closed_q(now))
        .filter(Exists(unconfirmed))
        .select_related("shop")
        .order_by("closes_at", "pk")
    )
    for cycle in to_confirm:
        started = time.monotonic()
        total = (
            confirmation.proxy_orders_to_confirm(order_cycle=cycle).count()
            if progress is not None
            else 0
        )
        with (progress or _no_progress)(f"confirming {_cycle_label(cycle)}", total) as advance:
            confirmed = confirmation.confirm_cycle(order_cycle=cycle, now=now, on_chunk=advance)
        if confirmed.did_something:
            lines.append(
                _cycle_line("confirmed", cycle, confirmed.describe(), confirmed.counts(), started)
            )

    lines += _requeue_lost_summaries(now)
    with (progress or _no_progress)("sending emails", None) as advance:
        sent = emails_send_due(now=now, on_batch=advance)
    if sent:
        lines.append(TickLine(f"sent {sent} email(s)", event="emails_sent", emails=sent))
    return lines


def _requeue_lost_summaries(now: datetime) -> list[TickLine]:
    """Summaries whose cycle is done but whose email row is missing (a crash between the
    last chunk's commit and the summary's)."""
    lines: list[TickLine] = []
    worked = ProxyOrder.objects.filter(order_cycle=OuterRef("pk")).exclude(
        state__in=[ProxyOrderState.PENDING, ProxyOrderState.CANCELED]
    )
    open_cycles = list(
        OrderCycle.objects.filter(opened_q(now), closes_at__gt=now - SUMMARY_LOOKBACK)
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
                lines.append(_summary_line("placement", cycle))
        if order_cycle_is_closed(cycle, now=now) and (
            confirmation.confirmation_summary_key(cycle.pk) not in placed_keys
        ):
            if confirmation.confirmation_summary_queue_if_done(order_cycle=cycle, now=now):
                lines.append(_summary_line("confirmation", cycle))
    return lines


def _summary_line(kind: str, cycle: OrderCycle) -> TickLine:
    return TickLine(
        f"{kind} summary queued for {_cycle_label(cycle)}",
        event=f"{kind}_summary_queued",
        shop_id=cycle.shop_id,
        shop=cycle.shop.name,
        order_cycle_id=cycle.pk,
        order_cycle=cycle.name,
    )


class WorkerLost(Exception):
    """Recorded as the error of a task whose workers kept dying while running it."""


def task_lease() -> timedelta | None:
    """How long a started task belongs to its worker (None: requeueing is off)."""
    seconds = settings.TASK_LEASE_SECONDS
    return timedelta(seconds=seconds) if seconds else None


def requeue_abandoned_tasks(*, now: datetime | None = None, backend_name: str = "default") -> int:
    """Queue again every task still `RUNNING` whose lease has run out: started (or last
    renewed, see `_renew_lease`) longer ago than TASK_LEASE_SECONDS, so its worker is taken
    for dead. Returns how many tasks were queued again or failed.

    Why running a task again is safe: every task is idempotent, by guards in the database,
    not by the task's row. A task killed mid-transaction left nothing (the database rolled
    its transaction back); one killed after committing finds its work done.
    - Placement (`place_cycle_task`, `place_chunk_task`) claims each proxy order with
      SELECT … FOR UPDATE SKIP LOCKED and a guarded UPDATE (`WHERE state IN (…)`, row count
      checked); an order per proxy order is a one-to-one key; the cycle's allocation is
      stored once and only read afterwards. A cycle task run again may queue a chunk twice:
      the chunks still place each proxy order once. A shop's summary email has a unique
      `dedup_key`.
    - Confirmation (`confirm_cycle_task`) moves each proxy order placed -> confirmed with a
      guarded UPDATE, and a payment gateway's idempotency key comes from our payment id
      (never charged twice).
    - Sending (`emails_send_task`, `emails_send_due_task`) claims each email with a guarded
      UPDATE queued -> sending under its own lease: a sent email is not sent again.
    - A cycle re-dated since its task was queued makes the task answer "stale".
    The same guards make it harmless should a live worker miss its renewals (a machine
    paused longer than the lease): both runs do the work once between them.

    Each row is taken with its own guarded UPDATE (`WHERE status = RUNNING AND started_at =
    <the start read>`): with several workers looking at once, only one UPDATE matches a row,
    and a row claimed again meanwhile (a new start) is left alone. The row keeps its
    arguments, priority and `worker_ids` (one entry per run, which is how runs are counted).
    """
    lease = task_lease()
    if lease is None:
        return 0
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    abandoned = (
        DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, backend_name=backend_name, started_at__lt=now - lease
        )
        .order_by()
        .values_list("pk", "task_path", "started_at", "worker_ids")
    )
    taken = 0
    for pk, task_path, started_at, worker_ids in abandoned:
        held = DBTaskResult.objects.filter(
            pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        name = task_path.rsplit(".", 1)[-1]
        assert started_at is not None  # filtered on it above
        silent_for = int((now - started_at).total_seconds())
        runs = len(worker_ids or [])
        if runs >= MAX_TASK_RUNS:
            failed = held.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=(
                    f"{WorkerLost.__qualname__}: the worker running this task died {runs} "
                    f"times (last one silent for {silent_for}s, lease "
                    f"{settings.TASK_LEASE_SECONDS}s)"
                ),
            )
            if failed:
                taken += 1
                logger.error(
                    "task %s (%s) failed: its worker died %d times; the last one silent for %ds",
                    pk,
                    name,
                    runs,
                    silent_for,
                )
            continue
        if held.update(status=TaskResultStatus.READY, started_at=None):
            taken += 1
            logger.warning(
                "task %s (%s) queued again: running with no sign of life for %ds, longer "
                "than the %ds lease (worker %s taken for dead; run %d of at most %d)",
                pk,
                name,
                silent_for,
                settings.TASK_LEASE_SECONDS,
                worker_ids[-1] if worker_ids else "?",
                runs + 1,
                MAX_TASK_RUNS,
            )
    return taken


def _renew_lease(task_id: str, stop: threading.Event, every: float) -> None:
    """While a task runs (until `stop`), move its `started_at` forward every `every` seconds:
    the sign of life the lease looks at. Runs in its own thread, with its own connection,
    so it beats whatever the task does (a long transaction, a slow payment gateway)."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    try:
        while not stop.wait(every):
            try:
                DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
                    started_at=timezone.now()
                )
            except Exception:  # the next beat tries again; the lease spans several beats
                logger.warning("could not renew the lease of task %s", task_id, exc_info=True)
    finally:
        connections.close_all()  # this thread's connections only


@cache
def _task_line(db_task_result: Any, started: float) -> TickLine | None:
    """The line of a task that ran to the end: its name, its cycle and what it returned
    (the engine's tasks return their summary), or None for a failed one (logged apart)."""
    if str(db_task_result.status) != "SUCCESSFUL":
        return None
    seconds = round(time.monotonic() - started, 3)
    cycle_id = (db_task_result.args_kwargs.get("kwargs") or {}).get("order_cycle_id")
    name = db_task_result.task_name
    where = f" cycle #{cycle_id}" if cycle_id is not None else ""
    return TickLine(
        f"{name}{where}: {db_task_result.return_value} in {seconds:.1f}s",
        event="task",
        task=name,
        task_id=str(db_task_result.pk),
        order_cycle_id=cycle_id,
        result=str(db_task_result.return_value),
        duration_s=seconds,
    )


def _leased_worker_class(emit: Callable[[TickLine], object] | None = None) -> type:
    """django-tasks-db's worker, renewing each task's lease while it runs the task and
    handing `emit` one line per task that ran."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    class LeasedWorker(Worker):
        def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
            started = time.monotonic()
            self._run_leased(db_task_result)
            line = _task_line(db_task_result, started) if emit is not None else None
            if line is not None and emit is not None:
                emit(line)

        def _run_leased(self, db_task_result: DBTaskResult[Any, Any]) -> None:
            lease = task_lease()
            if lease is None:
                super().run_task(db_task_result)
                return
            stop = threading.Event()
            beat = threading.Thread(
                target=_renew_lease,
                args=(db_task_result.pk, stop, lease.total_seconds() / 4),
                name=f"lease-{db_task_result.pk}",
                daemon=True,
            )
            beat.start()
            try:
                super().run_task(db_task_result)
            finally:
                stop.set()
                beat.join(timeout=10)

    return LeasedWorker


def _lease_check_every(catch_up_every: float) -> float:
    """Seconds between two looks for abandoned tasks: often enough for the lease (a quarter
    of it), not more than the catch-up's pace (the look reads the task table)."""
    lease = task_lease()
    if lease is None:
        return catch_up_every
    return min(catch_up_every, max(1.0, lease.total_seconds() / 4))


def _run_queued_tasks(
    worker_id: str,
    *,
    requeue_abandoned: bool = True,
    emit: Callable[[TickLine], object] | None = None,
) -> None:
    """Run every task that is ready in the database queue, then return; first, unless told
    not to, queue again the tasks whose worker died (`requeue_abandoned_tasks`). `emit` is
    handed one line per task that ran."""
    backend_path = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    if not backend_path.startswith("django_tasks_db"):
        return  # tasks run where they are enqueued (immediate backend): nothing queued
    if requeue_abandoned:
        requeue_abandoned_tasks(backend_name="default")

    _leased_worker_class(emit)(
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
    log: Callable[[TickLine], object] | None = None,
    worker_id: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Run tasks and the catch-up tick until `stop` is set (or forever).

    Safe to run in a thread (it installs no signal handlers: the caller owns them) and in
    any number of processes at once. `log` receives the tick's lines and one per task run
    (default: logging); `progress` shows the catch-up's long cycles as they go.
    Tasks left running by a dead worker are queued again once their lease has run out
    (looked for at most every minute, or every quarter of a shorter lease).
    """
    stop = stop or threading.Event()
    emit = log or log_line
    worker_id = worker_id or f"cadence-{threading.get_ident()}-{int(time.time())}"
    next_tick = next_lease_check = 0.0
    while not stop.is_set():
        close_old_connections()
        if time.monotonic() >= next_tick:
            try:
                for line in run_tick(progress=progress):
                    emit(line)
            except Exception:  # the next minute tries again; the worker keeps running
                logger.exception("catch-up tick failed")
            next_tick = time.monotonic() + catch_up_every
        requeue_abandoned = time.monotonic() >= next_lease_check
        if requeue_abandoned:
            next_lease_check = time.monotonic() + _lease_check_every(catch_up_every)
        try:
            _run_queued_tasks(worker_id, requeue_abandoned=requeue_abandoned, emit=emit)
        except Exception:
            logger.exception("running queued tasks failed")
        close_old_connections()
        stop.wait(interval)
