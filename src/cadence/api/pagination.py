"""Page-number pagination: `?page=N&page_size=M` (default 50, at most 500),
answered as `{"items": [...], "count": N}`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Far beyond any real list, and small enough that the row offset fits the database's integers.
MAX_PAGE = 1_000_000


class PageParams(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A `{items: [item], count}` response schema named `name` in the OpenAPI description."""
    items = list[item]  # type: ignore[valid-type]  # a schema built at run time
    return type(name, (Schema,), {"__annotations__": {"items": items, "count": int}})


def paginate(
    queryset: QuerySet, params: PageParams, render: Callable[[Iterable[Any]], list[dict]]
) -> dict:
    """One page of `queryset`; `render` turns the page's rows into items (in a few queries)."""
    count = queryset.count()
    start = (params.page - 1) * params.page_size
    rows = list(queryset[start : start + params.page_size])
    return {"items": render(rows), "count": count}
