"""A task worker process: the product's `run_worker`, without the catch-up tick (which would
redo a placement by itself; here only the task lease may bring a task back), that, when
told, kills itself (SIGKILL) at a chosen point of the first task it runs, like a machine
losing power there, or is slow there. For the task lease's crash tests:

    TASK_KILL_AT=<point> WORKER_ID=<id> python -m tests.support.workers.task_worker
    TASK_SLOW_AT=<point>:<seconds> WORKER_ID=<id> python -m tests.support.workers.task_worker

Points: `place` (just before the first order is inserted: a placement chunk's transaction
is open, nothing of it committed), `finish` (just before the task's row is marked finished:
the task's work is committed, the row still says running). It runs tasks until SIGTERM,
then exits 0. The hooks live here, in the test's process, not in the product.
"""

from __future__ import annotations

import os
import signal
import threading
import time

# Statements that mark the points (`statement_matches`: an insert is also the COPY of it).
SQL_POINTS = {
    "place": ('INSERT INTO "orders_order"',),
    "finish": ('UPDATE "django_tasks_database_dbtaskresult"', '"finished_at" ='),
}


def main() -> None:
    point = os.environ.get("TASK_KILL_AT", "")
    slow_point, _, slow_seconds = (os.environ.get("TASK_SLOW_AT") or "").partition(":")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    import django

    django.setup()
    from django.db import connection

    from cadence.subscriptions.services import processing
    from tests.support.sql import statement_matches

    processing.run_tick = lambda **kwargs: []
    fragments = SQL_POINTS[point] if point else ()
    slow_fragments = SQL_POINTS[slow_point] if slow_point else ()
    slowed = False

    def die_at(execute, sql, params, many, context):
        nonlocal slowed
        if fragments and all(statement_matches(sql, f) for f in fragments):
            os.kill(os.getpid(), signal.SIGKILL)
        if slow_fragments and not slowed and all(statement_matches(sql, f) for f in slow_fragments):
            slowed = True
            time.sleep(float(slow_seconds))
        return execute(sql, params, many, context)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with connection.execute_wrapper(die_at):
        processing.run_worker(interval=0.1, stop=stop, worker_id=os.environ.get("WORKER_ID"))


if __name__ == "__main__":
    main()
