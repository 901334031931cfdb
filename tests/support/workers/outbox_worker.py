"""A worker process that sends the outbox's due emails (`emails_send_due`, what the worker's
catch-up and `cadence tick` run) and, when told, kills itself (SIGKILL) at a chosen point of
the nth email's send, like a machine losing power there. For the outbox's crash tests:

    OUTBOX_KILL_AT=<point>:<nth> python -m tests.support.workers.outbox_worker [<minutes ahead>]

Points: `claim` (just after the row is claimed: `sending`, leased), `smtp-before` (just before
the message goes to the mail server), `smtp-after` (the server accepted it; the row is not
marked sent yet), `mark` (just after the row is marked sent). Without OUTBOX_KILL_AT it sends
what is due and exits 0; exit 3 means the kill point was never reached. `<minutes ahead>`
sends at a clock moved that far forward (so that earlier senders' leases have expired).
The hooks live here, in the test's process, not in the product.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from datetime import timedelta

# Statements that mark the points, as Django writes them (the claim gives a lease; the mark
# records when it was sent).
SQL_POINTS = {"claim": '"lease_until" = %s', "mark": '"sent_at" = %s'}


def main() -> None:
    ahead = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    point, _, nth = (os.environ.get("OUTBOX_KILL_AT") or "").partition(":")
    nth = int(nth or 0)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    import django

    django.setup()
    from django.core.mail.backends.smtp import EmailBackend
    from django.db import connection
    from django.utils import timezone

    from cadence.notifications.services import emails_send_due

    seen: Counter[str] = Counter()

    def die_at(name: str) -> None:
        seen[name] += 1
        if name == point and seen[name] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    send_messages = EmailBackend.send_messages

    def send_and_maybe_die(self, messages):
        die_at("smtp-before")
        sent = send_messages(self, messages)
        die_at("smtp-after")
        return sent

    EmailBackend.send_messages = send_and_maybe_die

    def watch_sql(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        for name, fragment in SQL_POINTS.items():
            if sql.startswith('UPDATE "notifications_email"') and fragment in sql:
                die_at(name)  # autocommit: the UPDATE is committed
        return result

    now = timezone.now() + timedelta(minutes=ahead) if ahead else None
    with connection.execute_wrapper(watch_sql):
        emails_send_due(now=now)
    sys.exit(3 if point else 0)


if __name__ == "__main__":
    main()
