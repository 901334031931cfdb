"""Side effects that wait for the transaction: task enqueues and work run once it commits.

A service writes its rows in one transaction and asks for its follow-up work (send these
emails, place these orders, schedule this cycle's processing) only when that transaction
commits, so a rolled-back write leaves nothing behind in the queue. Outside a transaction
the work runs at once.

A failure here is logged, never raised: the rows are committed and are the source of truth,
and the worker's catch-up (`cadence tick`) finds whatever a lost enqueue would have done
(queued emails, pending orders of open cycles, cycles due for placement or confirmation). An
error raised after commit would only tell the caller that a write failed when it did not.

The one such helper: it lives with the outbox, whose emails are its first users, and every
app's services use it for their own tasks too. It imports no app, so any app may use it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger("cadence.tasks")


def run_on_commit(work: Callable[[], Any], /, *, using: str | None = None) -> None:
    """Call `work()` once the current transaction on `using` commits.

    The callback keeps `work`'s name (tests and logs tell one callback from another)."""

    @functools.wraps(work)
    def guarded() -> None:
        try:
            work()
        except Exception:
            logger.exception("after commit: %s failed", work.__qualname__)

    transaction.on_commit(guarded, using=using)


def enqueue_on_commit(task: Any, /, **kwargs: Any) -> None:
    """Enqueue `task` (a `django_tasks` task) with `kwargs` once the current transaction
    commits. Tasks import the services that call this, so a caller imports its task inside
    the calling function (at call time, when every module is loaded), not at the top."""

    def enqueue() -> None:
        task.enqueue(**kwargs)

    enqueue.__qualname__ = f"{task.module_path}.enqueue"
    run_on_commit(enqueue)
