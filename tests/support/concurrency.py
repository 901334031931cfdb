"""Running the same work on several threads at the same moment, each with its own database
connection, as several workers would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_at_once(work: Callable[[], Any], *, times: int = 2) -> list[Any]:
    """Call `work` on `times` threads released together; their results, in the order they
    finished. An error on any thread is raised here once all have ended."""
    start = threading.Barrier(times)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(work())
        except Exception as exc:  # raised below, on the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
