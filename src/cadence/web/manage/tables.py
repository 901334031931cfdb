"""Sortable, paginated tables for the back office (django-tables2), in one look.

Every table renders with `manage/_table.html`: a plain table on a wide screen, one card per
row on a phone. `configure` applies the query string's sort and page.
"""

from __future__ import annotations

import django_tables2 as tables
from django.http import HttpRequest

PAGE_SIZE = 25


class ManageTable(tables.Table):
    class Meta:
        template_name = "manage/_table.html"
        attrs = {"class": "responsive"}


def configure(request: HttpRequest, table: tables.Table, *, per_page: int = PAGE_SIZE):
    """Sort and paginate `table` from the request; an out-of-range page shows the last one."""
    tables.RequestConfig(request, paginate={"per_page": per_page, "orphans": 0}).configure(table)
    return table
