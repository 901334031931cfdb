"""The shared bulk INSERT: many rows in one statement, ids back in the order of the rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cadence import bulk
from cadence.notifications.models import Email

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def _rows(n: int) -> list[tuple]:
    return [(f"buyer{i}@example.com", "placement", {"n": i, "é": [i]}) for i in range(n)]


def test_rows_are_written_in_one_statement_with_the_models_defaults():
    """Named columns as given (JSON kept as JSON), the others at their default, `now` for
    the automatic timestamps; the ids come back in the order of the rows."""
    with CaptureQueriesContext(connection) as queries:
        ids = bulk.insert_rows(Email, ("to", "kind", "context"), _rows(3), NOW)

    assert len(queries) == 1
    emails = Email.objects.in_bulk(ids)
    assert [emails[i].context["n"] for i in ids] == [0, 1, 2]
    first = emails[ids[0]]
    assert (first.to, first.context) == ("buyer0@example.com", {"n": 0, "é": [0]})
    assert (first.status, first.attempts, first.language, first.dedup_key) == (
        "queued",
        0,
        "en",
        None,
    )
    assert first.created_at == NOW


def test_nothing_to_write_runs_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert bulk.insert_rows(Email, ("to", "kind"), [], NOW) == []
    assert len(queries) == 0


def test_a_batch_too_big_for_one_sqlite_statement_keeps_its_order(monkeypatch):
    """Where one statement cannot hold every row (SQLite's parameter limit), the rows are
    cut into several statements and the ids still follow the rows."""
    monkeypatch.setattr(bulk, "_MAX_INSERT_PARAMS", 40)
    ids = bulk.insert_rows(Email, ("to", "kind", "context"), _rows(25), NOW)
    emails = Email.objects.in_bulk(ids)
    assert [emails[i].context["n"] for i in ids] == list(range(25))
