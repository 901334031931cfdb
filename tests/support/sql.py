"""Recognising the statements that tests stop or slow a worker at."""

from __future__ import annotations

_INSERT = "INSERT INTO "


def statement_matches(sql: str, fragment: str) -> bool:
    """Whether the statement contains `fragment`. A fragment naming an insert into a table
    (`INSERT INTO "orders_order"`) also matches the COPY into that table that bulk writes use
    on PostgreSQL, so a kill point means the same moment on both databases."""
    if fragment in sql:
        return True
    return fragment.startswith(_INSERT) and sql.startswith("COPY " + fragment[len(_INSERT) :])
