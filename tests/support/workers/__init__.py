"""Worker processes for the crash tests (`python -m tests.support.workers.<name>`, cwd ROOT),
and how to start them on the test's PostgreSQL database."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

# The repository's root: tests/support/workers/__init__.py is three levels below it.
ROOT = Path(__file__).resolve().parents[3]


def worker_process_env(**extra: str) -> dict[str, str]:
    """The environment for a worker process (`python -m tests.support.workers.…`, cwd ROOT) on
    the test's PostgreSQL database, plus `extra` variables."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **extra,
    )
    return env


def crash_worker_run(mode: str, cycle_id: int, fragment: str, nth: int, when: str) -> int:
    """Run `tests.support.workers.crash_worker` (placement or confirmation of the cycle,
    chunks of 10, SIGKILLed just before or after the nth statement containing `fragment`) on
    the test's PostgreSQL database; its return code (-9 when it was killed)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.workers.crash_worker", mode, str(cycle_id)]
        + [fragment, str(nth), when],
        cwd=ROOT,
        env=worker_process_env(LOG_LEVEL="CRITICAL"),
        capture_output=True,
        timeout=120,
    )
    return proc.returncode
