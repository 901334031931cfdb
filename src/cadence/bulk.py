"""Set-based work: many rows of one table in one INSERT, and ids read a chunk at a time.

The apps that own placement's tables (orders, payments, notifications) write a chunk's
rows through `insert_rows`, so every bulk write shares one way to do it and no module
builds INSERT text of its own. Placement and confirmation walk a cycle's proxy orders with
`id_chunks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

# Parameters per INSERT statement: under SQLite's limit (32766), and a statement of this
# size is parsed and planned by PostgreSQL in well under a millisecond.
_MAX_INSERT_PARAMS = 30000


def insert_defaults(
    model: type[Model], named: Sequence[Any], now: datetime
) -> tuple[list[Any], list[Any]]:
    """The model's other concrete fields (not the primary key, not `named`) and the values
    an INSERT gives them, ready for the database: their default, `now` for auto_now(_add)."""
    fields: list[Any] = []
    values: list[Any] = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f in named:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            value = f.get_default()
        fields.append(f)
        values.append(f.get_db_prep_save(value, connection))
    return fields, values


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], now: datetime
) -> list[int]:
    """Insert `rows` (values for the fields named by `columns`, attnames) in one statement
    (SQLite: one per _MAX_INSERT_PARAMS parameters) and return the new ids in the order of
    `rows`.

    Fields not named get their default (`now` for auto_now/auto_now_add). Plain SQL because
    `bulk_create` builds a model instance per row, prepares every value through the field
    API and, on PostgreSQL, quotes its arrays into the SQL text element by element on the
    client: together that cost placement more than the database work itself. JSON and
    datetimes still go through the backend's adaptation."""
    if not rows:
        return []
    meta = model._meta
    ops = connection.ops
    named = [meta.get_field(c) for c in columns]
    extra_cols, extra_vals = insert_defaults(model, named, now)
    adapters: list[Callable[[Any], Any] | None] = []
    for f in named:
        kind = f.get_internal_type()
        if kind == "JSONField":

            def adapt_json(v: Any, f: Any = f) -> Any:
                return None if v is None else ops.adapt_json_value(v, f.encoder)

            adapters.append(adapt_json)
        elif kind == "DateTimeField":
            adapters.append(ops.adapt_datetimefield_value)
        else:
            adapters.append(None)
    convert = [(i, a) for i, a in enumerate(adapters) if a is not None]
    if convert:
        prepared = []
        for row in rows:
            values = list(row)
            for i, adapt in convert:
                values[i] = adapt(values[i])
            prepared.append(values)
        rows = prepared
    table = ops.quote_name(meta.db_table)
    names = ", ".join(ops.quote_name(f.column) for f in [*named, *extra_cols])
    pk_column = meta.pk.column
    assert pk_column is not None  # every table here has its own id column
    returning = ops.quote_name(pk_column)
    if connection.vendor == "postgresql":
        ids = _insert_unnest(table, names, returning, named, rows, extra_cols, extra_vals)
    else:
        ids = _insert_values(table, names, returning, len(named), rows, extra_vals)
    if len(ids) != len(rows):
        raise RuntimeError(f"{meta.db_table}: {len(ids)} ids returned for {len(rows)} rows")
    return ids


def _db_type(field: Any) -> str:
    """The column's type without its modifiers (numeric, not numeric(12, 2))."""
    name: str = field.db_type(connection).split("(")[0]
    return name


def _insert_unnest(
    table: str,
    names: str,
    returning: str,
    fields: list[Any],
    rows: Sequence[Sequence[Any]],
    extra_cols: list[Any],
    extra_vals: list[Any],
) -> list[int]:
    """PostgreSQL: one `INSERT … SELECT FROM UNNEST(array per column)` with server-side
    binding, so the arrays travel in the binary protocol and the short statement text is
    parsed once per process, instead of thousands of values quoted into SQL text."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    columns = [list(column) for column in zip(*rows, strict=True)]
    # %b: binary format (no quoting or escaping of the elements on either side).
    select = ", ".join(f"%b::{_db_type(f)}[]" for f in fields)
    extras = "".join(f", %b::{_db_type(f)}" for f in extra_cols)
    sql = (
        f"INSERT INTO {table} ({names}) SELECT u.*{extras} FROM UNNEST({select}) AS u "
        f"RETURNING {returning}"
    )
    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]  # stubs lag
    # Through Django's wrapper, so error translation and execute wrappers apply as usual.
    cursor = (
        connection.make_debug_cursor(raw)  # type: ignore[arg-type]  # a DB-API cursor
        if connection.queries_logged
        else connection.make_cursor(raw)  # type: ignore[arg-type]  # a DB-API cursor
    )
    with cursor:
        # The defaults come first in the text, so first in the parameters.
        cursor.execute(sql, [*extra_vals, *columns])
        return [r[0] for r in cursor.fetchall()]


def _insert_values(
    table: str,
    names: str,
    returning: str,
    width: int,
    rows: Sequence[Sequence[Any]],
    extra_vals: list[Any],
) -> list[int]:
    """Other databases (SQLite): multi-row `INSERT … VALUES … RETURNING`, in statements of
    at most _MAX_INSERT_PARAMS parameters."""
    row_sql = "(" + ", ".join(["%s"] * (width + len(extra_vals))) + ")"
    per_statement = max(1, _MAX_INSERT_PARAMS // (width + len(extra_vals)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params: list = []
            for row in batch:
                params.extend(row)
                params.extend(extra_vals)
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * len(batch))} "
                f"RETURNING {returning}",
                params,
            )
            ids.extend(r[0] for r in cursor.fetchall())
    return ids


def id_chunks(qs: QuerySet[Any], size: int) -> Iterator[list[int]]:
    """The queryset's ids in chunks, read one chunk at a time (keyset pagination on the
    primary key), so a cycle of any size never has all its ids in memory."""
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not chunk:
            return
        yield chunk
        if len(chunk) < size:
            return  # that was the last one: no need to ask again
        last = chunk[-1]
