"""Set-based work: many rows of one table in one statement, and rows read a page at a time.

The apps that own placement's tables (orders, payments, notifications) write a chunk's
rows through `insert_rows`, and set rows each from its own value through `update_each`, so
every bulk write shares one way to do it and no module builds INSERT, COPY or such UPDATE
text of its own. Placement and confirmation walk a cycle's proxy orders with `id_chunks`;
`stream_rows` reads rows of any number in flat memory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import connection
from django.db.models import F, Lookup, Model, Q, QuerySet

# Parameters per INSERT statement: under SQLite's limit (32766), and a statement of this
# size is parsed and planned by PostgreSQL in well under a millisecond.
_MAX_INSERT_PARAMS = 30000
# From this many rows PostgreSQL is written with COPY; fewer go in one INSERT … RETURNING,
# one round trip where COPY needs two when the ids are wanted (a card payment's email).
COPY_FROM_ROWS = 20


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
        if f.get_internal_type() == "JSONField":
            values.append(_json_text(value, encoder=getattr(f, "encoder", None)))
        else:
            values.append(f.get_db_prep_save(value, connection))
    return fields, values


# What the standard library's encoder takes, no more: dict keys that are not strings become
# strings; datetimes and dataclasses are refused (a TypeError) as `json.dumps` refuses them.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _json_text(value: Any, *, encoder: type[json.JSONEncoder] | None) -> str | None:
    """A JSON column's value as JSON text, which both databases take as it is (COPY's text
    format on PostgreSQL, a text column on SQLite): encoded once, here, rather than wrapped
    for the driver to encode row by row; by orjson (a chunk encodes a few JSON values per
    order: with the standard library that was a few percent of placement) unless the field
    names an encoder of its own."""
    if value is None:
        return None
    if encoder is None:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    return json.dumps(value, cls=encoder)


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    now: datetime,
    *,
    returning_ids: bool = True,
) -> list[int]:
    """Insert `rows` (values for the fields named by `columns`, attnames) in one statement
    (PostgreSQL: one COPY from COPY_FROM_ROWS rows; otherwise one INSERT per
    _MAX_INSERT_PARAMS parameters) and return the new ids in the order of `rows` (an empty
    list with `returning_ids=False`, which spares COPY a query).

    Fields not named get their default (`now` for auto_now/auto_now_add). Plain SQL because
    `bulk_create` builds a model instance per row and prepares every value through the field
    API, which cost placement more than the database work itself. Datetimes still go through
    the backend's adaptation; JSON is encoded once, as text."""
    if not rows:
        return []
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} values for {len(columns)} columns")
    meta = model._meta
    ops = connection.ops
    named = [meta.get_field(c) for c in columns]
    extra_cols, extra_vals = insert_defaults(model, named, now)
    adapters: list[Callable[[Any], Any] | None] = []
    for f in named:
        kind = f.get_internal_type()
        if kind == "JSONField":
            adapters.append(functools.partial(_json_text, encoder=getattr(f, "encoder", None)))
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
    pk_column = meta.pk.column
    assert pk_column is not None  # every table here has its own id column
    names = [ops.quote_name(f.column) for f in [*named, *extra_cols]]
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS:
        ids = _insert_copy(table, pk_column, names, rows, extra_vals, returning_ids)
    else:
        ids = _insert_values(
            table, ", ".join(names), ops.quote_name(pk_column), len(named), rows, extra_vals
        )
        if not returning_ids:
            return []
    if returning_ids and len(ids) != len(rows):
        raise RuntimeError(f"{meta.db_table}: {len(ids)} ids returned for {len(rows)} rows")
    return ids


def _insert_copy(
    table: str,
    pk_column: str,
    names: list[str],
    rows: Sequence[Sequence[Any]],
    extra_vals: list[Any],
    returning_ids: bool,
) -> list[int]:
    """PostgreSQL: `COPY … FROM STDIN`, the server's fastest way in, its rows formatted by
    psycopg's C code. COPY returns nothing, so when the caller needs the ids they are drawn
    from the table's own sequence first (one query) and written with the rows."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        ids: list[int] = []
        if returning_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk_column, len(rows)],
            )
            ids = sorted(r[0] for r in cursor.fetchall())
            names = [connection.ops.quote_name(pk_column), *names]
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"

        def copy(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            with cursor.cursor.copy(sql) as stream:
                for row in rows:
                    stream.write_row((*row, *extra_vals))

        # Through the connection's execute wrappers, as any statement of Django's is, so the
        # COPY is counted and observed like the INSERT it stands for.
        run: Callable[..., None] = copy
        for wrapper in reversed(connection.execute_wrappers):
            run = functools.partial(wrapper, run)
        run(statement, None, False, {"connection": connection, "cursor": cursor})
    return ids


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


def update_each(
    model: type[Model],
    *,
    values: Mapping[int, int],
    assign: str,
    assign_params: Sequence[Any] = (),
    where: str = "",
    where_params: Sequence[Any] = (),
) -> int:
    """UPDATE the rows whose ids are the keys of `values`, each with its own integer, in one
    statement whatever their number, and return how many rows changed.

    `assign` is the SET clause and `where` an extra condition, both SQL over the row's own
    columns (not `id`), with %s for `assign_params` / `where_params`; `{value}` in `assign`
    stands for the row's integer. PostgreSQL joins the rows to their values with `unnest`
    over two arrays (two parameters however many rows); SQLite reads them from a
    `CASE id WHEN … THEN …`. Plain SQL because the ORM's equivalent (a searched CASE built
    from one Q per row) costs more to build than to run."""
    if not values:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    before, marker, after = assign.partition("{value}")
    if not marker:
        raise ValueError("`assign` must use {value}")
    condition = f" AND ({where})" if where else ""
    ids = list(values)
    if connection.vendor == "postgresql":
        sql = (
            f"UPDATE {table} SET {before}v.value{after} "
            f"FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, value) "
            f"WHERE {table}.id = v.id{condition}"
        )
        params = [*assign_params, ids, [values[i] for i in ids], *where_params]
    else:
        case = "CASE id " + " ".join(["WHEN %s THEN %s"] * len(ids)) + " END"
        placeholders = ", ".join(["%s"] * len(ids))
        sql = f"UPDATE {table} SET {before}{case}{after} WHERE id IN ({placeholders}){condition}"
        split = before.count("%s")
        params = [
            *assign_params[:split],
            *(x for i in ids for x in (i, values[i])),
            *assign_params[split:],
            *ids,
            *where_params,
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed: int = cursor.rowcount
    return changed


def stream_rows(
    qs: QuerySet[Any], *, fields: Sequence[str], order: Sequence[str], size: int = 2000
) -> Iterator[tuple[Any, ...]]:
    """The queryset's rows (values of `fields`) in `order` (ascending fields that are unique
    together), with memory that does not grow with their number.

    The first `size` rows are read with a plain query, so a result that fits (the usual
    case) costs one round trip; only when there are more are the rest streamed, through a
    server-side cursor on PostgreSQL, from just after the last row read."""
    width = len(fields)
    columns = [*fields, *order]
    first = list(qs.order_by(*order).values_list(*columns)[:size])
    yield from (row[:width] for row in first)
    if len(first) < size:
        return
    rest = qs.filter(_after(order, first[-1][width:])).order_by(*order).values_list(*columns)
    yield from (row[:width] for row in rest.iterator(chunk_size=size))


def _after(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows after `values` in `order`: (a > x) or (a = x and b > y) or …"""
    after = Q()
    for i, name in enumerate(order):
        step = Q(**{f"{name}__gt": values[i]})
        for equal, value in zip(order[:i], values[:i], strict=True):
            step &= Q(**{equal: value})
        after |= step
    return after


class _InIds(Lookup):
    """`lhs IN (…)`; on PostgreSQL `lhs = ANY(%s)` with the ids as one array parameter."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, params = self.process_lhs(compiler, connection)
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", (*params, *self.rhs)

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, self.rhs)


def in_ids(field: str, ids: Iterable[int]) -> Q:
    """A filter: `field` is one of `ids` (`qs.filter(in_ids("pk", ids))`). On PostgreSQL the
    ids travel as one array parameter however many there are, where an `__in` list takes a
    parameter each, which the driver splits and quotes one by one: for a chunk of hundreds
    that costs more than the query itself. No ids: nothing matches."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return Q(pk__in=[])
    return Q(_InIds(F(field), ids))


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
