"""A worker process that kills itself (SIGKILL) at a chosen point of placement or
confirmation, for the crash tests. Run as a script:

    python -m tests.support.workers.crash_worker <mode> <cycle_id> <sql fragment> <nth> <when>

(mode: place or confirm; when: before or after).

It counts the statements containing the fragment (through Django's execute_wrapper hook)
and dies just before or just after the nth one, like a machine losing power there.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta


def main() -> None:
    mode, cycle_id, fragment, nth, when = sys.argv[1:6]
    nth = int(nth)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    import django

    django.setup()
    from django.db import connection

    from cadence.cycles.models import OrderCycle
    from cadence.subscriptions.services import confirmation, placement
    from tests.support.sql import statement_matches

    placement.CHUNK_SIZE = 10
    confirmation.CHUNK_SIZE = 10
    seen = 0

    def die_at(execute, sql, params, many, context):
        nonlocal seen
        hit = statement_matches(sql, fragment)
        if hit:
            seen += 1
        if hit and seen == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = execute(sql, params, many, context)
        if hit and seen == nth and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    cycle = OrderCycle.objects.get(pk=int(cycle_id))
    with connection.execute_wrapper(die_at):
        if mode == "place":
            placement.place_cycle(order_cycle=cycle)
        else:
            confirmation.confirm_cycle(
                order_cycle=cycle, now=cycle.closes_at + timedelta(minutes=1)
            )
    sys.exit(3)  # the kill point was never reached


if __name__ == "__main__":
    main()
