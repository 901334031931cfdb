"""The task lease: a task left `RUNNING` by a worker that died is queued again once its
lease (`TASK_LEASE_SECONDS`) has run out, and run again, doing its work once.

The first tests run on SQLite and PostgreSQL with the dead worker's claim written by hand;
the last ones, on PostgreSQL only (skipped, with the reason, on SQLite), kill a real worker
process (tests/support/workers/task_worker.py) in the middle of a placement chunk and let a second
one finish it.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cadence.catalog.models import Variant
from cadence.notifications.models import Email
from cadence.orders.models import LineItem, Order
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import processing
from cadence.subscriptions.services.processing import (
    MAX_TASK_RUNS,
    _lease_check_every,
    _renew_lease,
    _run_queued_tasks,
    requeue_abandoned_tasks,
)
from cadence.subscriptions.tasks import place_chunk_task
from tests.support.workers import ROOT, worker_process_env
from tests.support.worlds import make_world

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
KILLED = -9


def _enqueue_chunk(world, proxies) -> DBTaskResult:
    result = place_chunk_task.enqueue(
        order_cycle_id=world.cycle.pk, proxy_order_ids=[p.pk for p in proxies]
    )
    return DBTaskResult.objects.get(pk=result.id)


def _left_running(row: DBTaskResult, *, seconds_ago: float, workers=("dead-worker",)) -> None:
    """What a worker that claimed `row` and died leaves: the row running, its start then."""
    DBTaskResult.objects.filter(pk=row.pk).update(
        status="RUNNING",
        started_at=timezone.now() - timedelta(seconds=seconds_ago),
        worker_ids=list(workers),
    )


def _placed_once(world, proxies) -> None:
    assert set(
        ProxyOrder.objects.filter(pk__in=[p.pk for p in proxies]).values_list("state", flat=True)
    ) == {ProxyOrderState.PLACED}
    assert Order.objects.filter(order_cycle=world.cycle).count() == len(proxies)


def _wait_until(condition, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def queued(settings, transactional_db):
    """The database task queue, the default lease (600 s) and a chunk of three pending proxy
    orders queued as a task. The worker's batch runs outside any transaction, as in
    production (it checks its connection first), hence `transactional_db`."""
    settings.TASKS = DB_TASKS
    settings.TASK_LEASE_SECONDS = 600
    world = make_world()
    proxies = [world.subscribe() for _ in range(3)]
    return world, proxies, _enqueue_chunk(world, proxies)


def test_a_task_running_longer_than_the_lease_is_queued_again_and_run(queued, caplog):
    """A chunk task whose worker died 601 s ago (lease 600 s): the next batch logs it, queues
    it again with its arguments and runs it; its proxy orders are placed once."""
    world, proxies, row = queued
    _left_running(row, seconds_ago=601)

    lines = []
    with caplog.at_level(logging.WARNING, logger="cadence.worker"):
        _run_queued_tasks("live-worker", emit=lines.append)

    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert row.worker_ids == ["dead-worker", "live-worker"]
    assert row.args_kwargs["kwargs"]["proxy_order_ids"] == [p.pk for p in proxies]
    _placed_once(world, proxies)
    # The worker prints one line per task it ran (the chunk, then the emails it queued):
    # task, cycle, counts, time taken.
    (line,) = [line for line in lines if line.fields["task"] == "place_chunk_task"]
    assert {line.fields["task"] for line in lines} == {"place_chunk_task", "emails_send_task"}
    assert line.startswith(f"place_chunk_task cycle #{world.cycle.pk}: placed 3 ")
    assert re.search(r" in \d+\.\ds$", line)
    assert line.fields["task"] == "place_chunk_task"
    assert line.fields["order_cycle_id"] == world.cycle.pk
    (record,) = [r for r in caplog.records if r.name == "cadence.worker"]
    message = record.getMessage()
    assert str(row.pk) in message and "place_chunk_task" in message
    assert "no sign of life for 601s" in message and "dead-worker" in message


def test_a_task_within_its_lease_is_left_running(queued):
    """A task started 599 s ago (lease 600 s) may still be running on a live worker: the
    next batch leaves it alone, its start unchanged, its proxy orders pending."""
    world, proxies, row = queued
    _left_running(row, seconds_ago=599)
    started_at = DBTaskResult.objects.get(pk=row.pk).started_at

    _run_queued_tasks("live-worker")

    row.refresh_from_db()
    assert (row.status, row.started_at, row.worker_ids) == ("RUNNING", started_at, ["dead-worker"])
    assert Order.objects.filter(order_cycle=world.cycle).count() == 0


@pytest.mark.parametrize(
    ("lease", "started_ago", "queued_again"),
    [(30, 31, True), (30, 29, False), (3600, 3000, False), (3600, 3601, True), (0, 86400, False)],
)
def test_the_lease_comes_from_the_settings(queued, settings, lease, started_ago, queued_again):
    """TASK_LEASE_SECONDS decides: a task is queued again once it has run longer than the
    lease, not before; 0 turns the requeueing off."""
    _world, _proxies, row = queued
    settings.TASK_LEASE_SECONDS = lease
    _left_running(row, seconds_ago=started_ago)

    assert requeue_abandoned_tasks() == int(queued_again)

    row.refresh_from_db()
    assert row.status == ("READY" if queued_again else "RUNNING")
    assert (row.started_at is None) == queued_again
    assert row.worker_ids == ["dead-worker"]  # each run's worker stays on the row


def test_an_abandoned_task_is_queued_again_once_whoever_looks(queued):
    """Two workers look for abandoned tasks one after the other: only the first takes the
    task (its guarded UPDATE matched); the second finds nothing."""
    _world, _proxies, row = queued
    _left_running(row, seconds_ago=700)

    assert requeue_abandoned_tasks() == 1
    assert requeue_abandoned_tasks() == 0
    assert DBTaskResult.objects.get(pk=row.pk).status == "READY"


def test_a_task_that_lost_its_worker_every_time_is_marked_failed(queued, caplog):
    """A task whose worker died on each of its MAX_TASK_RUNS runs is not run again: it is
    failed with the reason, and its proxy orders are left to the catch-up."""
    world, _proxies, row = queued
    workers = [f"dead-{n}" for n in range(MAX_TASK_RUNS)]
    _left_running(row, seconds_ago=700, workers=workers)

    with caplog.at_level(logging.WARNING, logger="cadence.worker"):
        _run_queued_tasks("live-worker")

    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("FAILED", workers)
    assert row.exception_class_path == "cadence.subscriptions.services.processing.WorkerLost"
    assert f"died {MAX_TASK_RUNS} times" in row.traceback
    assert row.finished_at is not None
    assert Order.objects.filter(order_cycle=world.cycle).count() == 0
    assert any("failed" in r.getMessage() for r in caplog.records if r.name == "cadence.worker")


def test_a_running_task_s_worker_renews_its_lease(queued, settings):
    """While a task runs, its worker moves `started_at` forward (from another thread, with its
    own connection): a task running far longer than the lease is not taken for abandoned;
    one whose worker stopped renewing is, once the lease has run out."""
    _world, _proxies, row = queued
    settings.TASK_LEASE_SECONDS = 1
    _left_running(row, seconds_ago=30)
    stop = threading.Event()
    beat = threading.Thread(target=_renew_lease, args=(str(row.pk), stop, 0.05))
    beat.start()
    try:
        assert _wait_until(
            lambda: (
                DBTaskResult.objects.get(pk=row.pk).started_at
                > timezone.now() - timedelta(seconds=0.5)
            ),
            seconds=5,
        )
        assert requeue_abandoned_tasks() == 0
    finally:
        stop.set()
        beat.join(timeout=5)
    assert not beat.is_alive()

    later = timezone.now() + timedelta(seconds=2)
    assert requeue_abandoned_tasks(now=later) == 1
    assert DBTaskResult.objects.get(pk=row.pk).status == "READY"


def test_the_worker_looks_for_abandoned_tasks_at_the_lease_s_pace(settings):
    """At most every catch-up (a minute), every quarter of a shorter lease, and not more
    than once a second."""
    settings.TASK_LEASE_SECONDS = 600
    assert _lease_check_every(60.0) == 60.0
    settings.TASK_LEASE_SECONDS = 120
    assert _lease_check_every(60.0) == 30.0
    settings.TASK_LEASE_SECONDS = 2
    assert _lease_check_every(60.0) == 1.0
    settings.TASK_LEASE_SECONDS = 0
    assert _lease_check_every(60.0) == 60.0


def test_run_worker_looks_once_per_pace_not_every_batch(settings, monkeypatch):
    """`run_worker` passes the look to the batch only when it is due (the look reads the
    task table), the first batch included."""
    settings.TASK_LEASE_SECONDS = 600
    calls: list[bool] = []
    stop = threading.Event()

    def batch(worker_id, *, requeue_abandoned=True, emit=None):
        calls.append(requeue_abandoned)
        if len(calls) == 3:
            stop.set()

    monkeypatch.setattr(processing, "_run_queued_tasks", batch)
    monkeypatch.setattr(processing, "run_tick", lambda **kwargs: [])
    monkeypatch.setattr(processing, "close_old_connections", lambda: None)
    processing.run_worker(interval=0, stop=stop)
    assert calls == [True, False, False]


# --- real worker processes (PostgreSQL) ---------------------------------------------------


def _start_worker(smtp_port: int, worker_id: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.workers.task_worker"],
        cwd=ROOT,
        env=worker_process_env(
            EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
            TASKS_BACKEND="django_tasks_db.DatabaseBackend",
            LOG_LEVEL="WARNING",
            WORKER_ID=worker_id,
            **env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(worker: subprocess.Popen) -> str:
    """SIGTERM (the worker finishes its task and leaves); its stderr."""
    worker.send_signal(signal.SIGTERM)
    try:
        _out, err = worker.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        _out, err = worker.communicate()
    assert worker.returncode == 0, err
    return err


@pytest.mark.postgres
def test_a_live_worker_s_long_task_is_not_run_twice(transactional_db, settings, smtp_server):
    """Two workers with a 1 s lease; the first runs a placement chunk that takes 3 s (slow
    just before its first order). It renews the lease, so the second, looking every second,
    never takes the task for abandoned: one run, by the first worker, every order once."""
    settings.TASKS = DB_TASKS
    world = make_world()
    proxies = [world.subscribe() for _ in range(10)]
    row = _enqueue_chunk(world, proxies)

    first = _start_worker(
        smtp_server.port, "first-worker", TASK_LEASE_SECONDS="1", TASK_SLOW_AT="place:3"
    )
    assert _wait_until(lambda: DBTaskResult.objects.get(pk=row.pk).status == "RUNNING", seconds=10)
    second = _start_worker(smtp_server.port, "second-worker", TASK_LEASE_SECONDS="1")
    try:
        finished = _wait_until(
            lambda: DBTaskResult.objects.get(pk=row.pk).status == "SUCCESSFUL", seconds=15
        )
    finally:
        errors = [_stop(worker) for worker in (first, second)]
    assert finished, errors
    assert all("queued again" not in err for err in errors), errors

    row.refresh_from_db()
    assert row.worker_ids == ["first-worker"]
    _placed_once(world, proxies)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("point", "committed"),
    [("place", False), ("finish", True)],
)
def test_a_task_whose_worker_was_killed_is_run_again_after_the_lease(
    transactional_db, settings, smtp_server, point, committed
):
    """A worker process is SIGKILLed while it runs a placement chunk, at `point`: mid-chunk
    (nothing committed) or after the chunk committed, before the task's row is marked
    finished. The row stays RUNNING. A second worker, with a 1 s lease, queues it again
    (logging it) and runs it: every proxy order has exactly one order, stock is taken once,
    each buyer's email and the shop's summary arrive once, the task ends successful."""
    settings.TASKS = DB_TASKS
    world = make_world(on_hand=(1000, 1000, 1000))
    proxies = [world.subscribe([(world.variants[0], 2)]) for _ in range(30)]
    initial = world.variants[0].on_hand
    row = _enqueue_chunk(world, proxies)

    first = _start_worker(smtp_server.port, "first-worker", TASK_KILL_AT=point)
    try:
        first.wait(timeout=20)
    finally:
        first.kill()
    assert first.returncode == KILLED, first.stderr.read()
    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("RUNNING", ["first-worker"])
    placed_by_the_first = Order.objects.filter(order_cycle=world.cycle).count()
    assert placed_by_the_first == (len(proxies) if committed else 0)

    second = _start_worker(smtp_server.port, "second-worker", TASK_LEASE_SECONDS="1")
    try:

        def all_done() -> bool:
            return (
                DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count() == 0
                and len(smtp_server.messages) >= len(proxies) + 1
            )

        finished = _wait_until(all_done, seconds=15)
    finally:
        err = _stop(second)
    assert finished, err
    assert f"task {row.pk} (place_chunk_task) queued again" in err
    assert "first-worker taken for dead" in err

    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("SUCCESSFUL", ["first-worker", "second-worker"])
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    _placed_once(world, proxies)
    taken = LineItem.objects.filter(order__order_cycle=world.cycle).aggregate(n=Sum("quantity"))
    assert taken["n"] == 2 * len(proxies)
    assert Variant.objects.get(pk=world.variants[0].pk).on_hand == initial - 2 * len(proxies)
    assert all(n == 1 for n in Counter(Email.objects.values_list("kind", "to")).values())
    arrived = Counter(m["To"] for m in smtp_server.messages)
    assert len(arrived) == len(proxies) + 1 and set(arrived.values()) == {1}
