"""The outbox on PostgreSQL against a real SMTP server, with real worker processes killed
(SIGKILL) while sending: every email still reaches the server, at least once, and a copy sent
twice carries the same Message-ID (so mail clients show it once).

The workers are separate processes (tests/support/workers/outbox_worker.py) that commit for real, so
these tests use `transactional_db`; they are skipped, with the reason, on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from django.db import connection

from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.services import email_build, message_id, send_lease
from tests.support.workers import ROOT

KILLED = -9
EMAILS = 6


def _worker(smtp_port: int, *, kill_at: str = "", minutes_ahead: float = 0) -> int:
    """Run one worker process sending due emails; its exit code (-9 when it killed itself)."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        LOG_LEVEL="CRITICAL",
        OUTBOX_KILL_AT=kill_at,
    )
    args = [sys.executable, "-m", "tests.support.workers.outbox_worker"]
    if minutes_ahead:
        args.append(str(minutes_ahead))
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=120)
    return proc.returncode


def _queue(n: int) -> list[Email]:
    """n queued emails written as the services write them (sending is what is under test)."""
    return Email.objects.bulk_create(
        [
            email_build(to=f"buyer{i}@example.org", kind="custom", subject=f"Order {i}", text="t")
            for i in range(n)
        ]
    )


def _after_the_lease() -> float:
    return send_lease().total_seconds() / 60 + 1


def _assert_every_email_arrived(emails: list[Email], smtp_server) -> Counter:
    """Every row is sent and reached the server under its own Message-ID; returns how many
    times each Message-ID arrived."""
    arrived = Counter(m["Message-ID"] for m in smtp_server.messages)
    expected = {message_id(e): e for e in emails}
    assert set(arrived) == set(expected)  # none lost, nothing foreign
    for message in smtp_server.messages:
        email = expected[message["Message-ID"]]
        assert (message["Subject"], message["To"]) == (email.subject, email.to)
    statuses = Counter(Email.objects.values_list("status", flat=True))
    assert statuses == {EmailStatus.SENT: len(emails)}, statuses
    return arrived


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("point", "copies_of_the_third"),
    [("claim", 1), ("smtp-before", 1), ("smtp-after", 2), ("mark", 1)],
)
def test_a_worker_killed_while_sending_loses_no_email(
    transactional_db, smtp_server, point, copies_of_the_third
):
    """A worker dies at `point` of the third email's send. A second worker, while the dead
    one's lease still runs, sends the rest but not that email; once the lease has expired the
    next run sends it. Every email arrives; only a kill between the server's acceptance and
    the row's mark sends one twice, with the same Message-ID."""
    emails = _queue(EMAILS)
    third = emails[2]

    assert _worker(smtp_server.port, kill_at=f"{point}:3") == KILLED
    third.refresh_from_db()
    interrupted = point != "mark"
    assert third.status == (EmailStatus.SENDING if interrupted else EmailStatus.SENT)

    assert _worker(smtp_server.port) == 0  # the lease is live: the third is left alone
    third.refresh_from_db()
    assert third.status == (EmailStatus.SENDING if interrupted else EmailStatus.SENT)
    assert Email.objects.filter(status=EmailStatus.QUEUED).count() == 0

    assert _worker(smtp_server.port, minutes_ahead=_after_the_lease()) == 0

    arrived = _assert_every_email_arrived(emails, smtp_server)
    assert arrived[message_id(third)] == copies_of_the_third
    assert sum(arrived.values()) == EMAILS + copies_of_the_third - 1
    third.refresh_from_db()
    assert third.attempts == (2 if interrupted else 1)


@pytest.mark.postgres
def test_workers_killed_again_and_again_lose_no_email(transactional_db, smtp_server):
    """Worker after worker dies at a different point, each on a later clock (the previous
    leases expired); a last run completes. Every email arrives, duplicates share their
    Message-ID."""
    emails = _queue(EMAILS)
    ahead = _after_the_lease()
    for run, kill_at in enumerate(["smtp-after:2", "claim:1", "smtp-before:2", "smtp-after:3"]):
        assert _worker(smtp_server.port, kill_at=kill_at, minutes_ahead=ahead * run) == KILLED

    assert _worker(smtp_server.port, minutes_ahead=ahead * 4) == 0

    arrived = _assert_every_email_arrived(emails, smtp_server)
    assert max(arrived.values()) <= 2 and sum(arrived.values()) > EMAILS
