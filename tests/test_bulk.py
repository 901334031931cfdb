"""The shared bulk writes: many rows in one statement (ids back in the order of the rows),
and many rows updated each with its own value in one statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cadence import bulk
from cadence.notifications.models import Email

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def _rows(n: int) -> list[tuple]:
    return [(f"buyer{i}@example.com", "placement", {"n": i, "é": [i]}) for i in range(n)]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements run meanwhile, as the connection's execute wrappers see them (a COPY
    included)."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def test_rows_are_written_in_one_statement_with_the_models_defaults():
    """Named columns as given (JSON kept as JSON), the others at their default, `now` for
    the automatic timestamps; the ids come back in the order of the rows."""
    with statements() as seen:
        ids = bulk.insert_rows(Email, ("to", "kind", "context"), _rows(3), NOW)

    assert [sql.split()[0] for sql in seen] == ["INSERT"]
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


def test_many_rows_are_copied_on_postgresql_with_ids_from_the_tables_sequence():
    """From COPY_FROM_ROWS rows PostgreSQL draws the ids from the table's sequence, then
    writes every row with one COPY; the ids still follow the rows."""
    n = bulk.COPY_FROM_ROWS
    with statements() as seen:
        ids = bulk.insert_rows(Email, ("to", "kind", "context"), _rows(n), NOW)

    expected = ["SELECT", "COPY"] if connection.vendor == "postgresql" else ["INSERT"]
    assert [sql.split()[0] for sql in seen] == expected
    emails = Email.objects.in_bulk(ids)
    assert [emails[i].context["n"] for i in ids] == list(range(n))
    assert emails[ids[-1]].created_at == NOW and emails[ids[-1]].status == "queued"


def test_without_ids_the_rows_are_written_in_one_statement_and_nothing_is_returned():
    with statements() as seen:
        rows = [(f"buyer{i:02}@example.com", "placement") for i in range(bulk.COPY_FROM_ROWS)]
        assert bulk.insert_rows(Email, ("to", "kind"), rows, NOW, returning_ids=False) == []
    assert len(seen) == 1
    assert sorted(Email.objects.values_list("to", flat=True)) == [to for to, _kind in rows]


@pytest.mark.parametrize("count", [1, bulk.COPY_FROM_ROWS])
def test_text_and_json_with_separators_and_escapes_are_written_as_given(count):
    """A shop's own words (a fee label, a name) may hold tabs, new lines, backslashes and
    quotes: neither an INSERT nor COPY's text format may read them as separators."""
    awkward = 'Ferme\t"Les Prés"\\ nord\nligne 2\r\\N'
    context = {"label": awkward, "nested": {"list": [awkward, None, 1.5]}}
    ids = bulk.insert_rows(
        Email,
        ("to", "kind", "from_name", "context"),
        [("a@example.com", "x", awkward, context)] * count,
        NOW,
    )
    for email in Email.objects.filter(pk__in=ids):
        assert (email.from_name, email.context) == (awkward, context)
    assert len(ids) == count


def test_json_values_take_what_the_standard_encoder_takes_and_nothing_more():
    """Keys that are not strings are written as strings (as `json.dumps` writes them); a
    value JSON cannot hold (a datetime, a Decimal) is refused before anything is written."""
    ids = bulk.insert_rows(Email, ("to", "kind", "context"), [("a@x.fr", "x", {7: "é"})], NOW)
    assert Email.objects.get(pk=ids[0]).context == {"7": "é"}
    for value in (NOW, Decimal("1.50")):
        with pytest.raises(TypeError):
            bulk.insert_rows(Email, ("to", "kind", "context"), [("b@x.fr", "x", {"v": value})], NOW)
    assert Email.objects.count() == 1


def test_update_each_sets_every_row_from_its_own_value_where_the_condition_holds():
    ids = bulk.insert_rows(
        Email, ("to", "kind"), [(f"b{i}@example.com", "x") for i in range(4)], NOW
    )
    Email.objects.filter(pk=ids[3]).update(status="sent")

    with statements() as seen:
        changed = bulk.update_each(
            Email,
            values={ids[0]: 5, ids[1]: 7, ids[3]: 9},
            assign="attempts = attempts + {value}, last_error = %s",
            assign_params=["retried"],
            where="status = %s",
            where_params=["queued"],
        )

    assert (changed, len(seen)) == (2, 1)
    rows = dict(Email.objects.values_list("pk", "attempts"))
    assert [rows[i] for i in ids] == [5, 7, 0, 0]  # the third not asked, the fourth not queued
    assert set(Email.objects.filter(attempts__gt=0).values_list("last_error", flat=True)) == {
        "retried"
    }


def test_update_each_takes_parameters_on_both_sides_of_the_value():
    [email_id] = bulk.insert_rows(Email, ("to", "kind"), [("a@example.com", "x")], NOW)
    bulk.update_each(
        Email,
        values={email_id: 3},
        assign="last_error = %s, attempts = {value}, kind = %s",
        assign_params=["before", "after"],
    )
    email = Email.objects.get(pk=email_id)
    assert (email.last_error, email.attempts, email.kind) == ("before", 3, "after")


def test_update_each_with_nothing_to_update_runs_no_statement_and_needs_its_value():
    with statements() as seen:
        assert bulk.update_each(Email, values={}, assign="attempts = {value}") == 0
    assert seen == []
    with pytest.raises(ValueError, match="value"):
        bulk.update_each(Email, values={1: 1}, assign="attempts = 1")


def test_a_row_of_the_wrong_width_is_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="3 values for 2 columns"):
        bulk.insert_rows(Email, ("to", "kind"), [("a@example.com", "x"), *_rows(1)], NOW)
    assert not Email.objects.exists()


def test_stream_rows_reads_a_small_result_in_one_query_and_a_big_one_whole_in_order():
    """Rows come in the given order, ties on the first key broken by the next; a result that
    fits the first page is one query, a bigger one is read on from just after that page."""
    moments = [NOW, NOW, NOW.replace(hour=3), NOW, NOW.replace(hour=3), NOW, NOW]
    ids = bulk.insert_rows(
        Email, ("to", "kind"), [(f"{i}@example.com", "x") for i in range(7)], NOW
    )
    for email_id, moment in zip(ids, moments, strict=True):
        Email.objects.filter(pk=email_id).update(created_at=moment)
    expected = sorted(zip(moments, ids, strict=True))

    def read(size: int) -> list[tuple]:
        return list(
            bulk.stream_rows(
                Email.objects.all(),
                fields=("created_at", "id"),
                order=("created_at", "pk"),
                size=size,
            )
        )

    with statements() as seen:
        assert read(10) == expected
    assert len(seen) == 1
    for size in (1, 2, 3, 7):
        assert read(size) == expected


def test_in_ids_matches_the_ids_given_once_each_and_nothing_when_none():
    ids = bulk.insert_rows(
        Email, ("to", "kind"), [(f"{i}@example.com", "x") for i in range(5)], NOW
    )
    chosen = [ids[3], ids[0], ids[3]]
    with statements() as seen:
        found = sorted(Email.objects.filter(bulk.in_ids("pk", chosen)).values_list("pk", flat=True))
    assert found == sorted({ids[0], ids[3]})
    if connection.vendor == "postgresql":
        assert "= ANY(" in seen[0]  # the ids as one array parameter
    assert not Email.objects.filter(bulk.in_ids("pk", [])).exists()
    assert Email.objects.filter(bulk.in_ids("pk", iter(ids[:2]))).update(attempts=4) == 2
