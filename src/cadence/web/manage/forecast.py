"""The forecast of an upcoming or open cycle: what subscriptions will ask for, against stock.

Per producer and product, the quantity the cycle's subscriptions will ask for when it is
placed and the stock there is now, shortfalls first to the eye: a bar chart (inline SVG, drawn
here, no script) and a table, and the same rows as a CSV file. The rows come from
`cadence.subscriptions.forecast`, which the API's forecast reads too: two queries whatever the
number of subscriptions or products.

A closed cycle has nothing left to forecast: its page says so and leads to its results.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

import django_tables2 as tables
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cadence.cycles import domain
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import order_cycle_of_shop
from cadence.enterprises.models import Enterprise
from cadence.subscriptions.forecast import ForecastRow, cycle_forecast
from cadence.web.manage.access import manager_page
from cadence.web.manage.cycles import state_label
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

AREA = "order-cycles"
PAGE_SIZE = 25

# Which rows the page and the CSV show: `?show=`.
SHOW_TABS = (
    ("all", pgettext_lazy("forecast rows", "All products")),
    ("asked", pgettext_lazy("forecast rows", "Asked for")),
    ("short", pgettext_lazy("forecast rows", "Short")),
)
DEFAULT_SHOW = "all"

# The chart, in pixels: one band per product, its name and figures above two bars (asked, in
# stock). Names are cut to fit a phone's width; the table under the chart has them whole.
CHART_BAND = 66
CHART_LABEL_LENGTH = 40


def _keep(rows: list[ForecastRow], show: str) -> list[ForecastRow]:
    if show == "asked":
        return [row for row in rows if row.requested]
    if show == "short":
        return [row for row in rows if row.shortfall]
    return rows


def _sorted(rows: list[ForecastRow]) -> list[ForecastRow]:
    """By producer, product and variant name, as a manager reads a pick list."""
    return sorted(
        rows,
        key=lambda r: (
            r.producer_name.casefold(),
            r.producer_id,
            r.product_name.casefold(),
            r.variant_name.casefold(),
            r.variant_id,
        ),
    )


def results_url(shop: Enterprise, cycle: OrderCycle) -> str:
    """The page of a closed cycle's results."""
    try:
        return reverse("manage-cycle-results", args=[shop.pk, cycle.pk])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/order-cycles/{cycle.pk}/results/"


def orders_url(shop: Enterprise, cycle: OrderCycle) -> str:
    """The page of a cycle's orders."""
    try:
        return reverse("manage-cycle-orders", args=[shop.pk, cycle.pk])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/order-cycles/{cycle.pk}/orders/"


def _cycle(shop: Enterprise, order_cycle_id: int) -> OrderCycle:
    cycle = order_cycle_of_shop(shop=shop, order_cycle_id=order_cycle_id)
    if cycle is None:
        raise Http404
    return cycle


def _stock_label(row: ForecastRow) -> str:
    return _("on demand") if row.on_demand else str(row.on_hand)


# --- The table ---------------------------------------------------------------------------------


class ForecastTable(ManageTable):
    producer_name = tables.Column(verbose_name=gettext_lazy("Producer"), orderable=False)
    product_name = tables.Column(verbose_name=gettext_lazy("Product"), orderable=False)
    variant_name = tables.Column(
        verbose_name=gettext_lazy("Variant"), orderable=False, empty_values=()
    )
    requested = tables.Column(verbose_name=pgettext_lazy("forecast", "Asked"), orderable=False)
    on_hand = tables.Column(
        verbose_name=pgettext_lazy("forecast", "Stock"), orderable=False, empty_values=()
    )
    shortfall = tables.Column(
        verbose_name=gettext_lazy("Shortfall"), orderable=False, empty_values=()
    )

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive forecast"}
        row_attrs = {"data-short": lambda record: "true" if record.shortfall else "false"}
        empty_text = gettext_lazy(
            "No product in this list. Add products to the order cycle, or show all products."
        )

    def render_variant_name(self, record):
        if record.sku:
            return format_html(
                '{} <span class="muted">{}</span>',
                record.variant_name or "–",
                _("SKU %(sku)s") % {"sku": record.sku},
            )
        return record.variant_name or "–"

    def render_on_hand(self, record):
        if record.on_demand:
            return format_html('<span class="muted">{}</span>', _("on demand"))
        return record.on_hand

    def render_shortfall(self, record):
        if record.shortfall:
            return format_html('<strong class="shortfall">{}</strong>', record.shortfall)
        return "0"


# --- The chart ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One product's band of the chart: widths are percentages of the chart's width."""

    y: int
    label: str
    full_label: str
    values: str
    asked_width: str
    stock_width: str | None  # None: sold on demand, no stock bar
    short_x: str | None  # where the shortfall starts on the asked bar, when it runs short
    short_width: str | None
    short: bool


def _percent(value: int, top: int) -> str:
    return f"{100 * value / top:.2f}%" if top else "0%"


def _short_label(text: str) -> str:
    if len(text) <= CHART_LABEL_LENGTH:
        return text
    return text[: CHART_LABEL_LENGTH - 1].rstrip() + "…"


def chart_bars(rows: list[ForecastRow]) -> list[Bar]:
    """The bars of `rows`, on one scale: the largest quantity asked or in stock."""
    top = max([r.requested for r in rows] + [r.on_hand or 0 for r in rows] + [1])
    bars = []
    for index, row in enumerate(rows):
        name = " – ".join(part for part in (row.product_name, row.variant_name) if part)
        if row.on_demand:
            values = _("asked %(asked)s · on demand") % {"asked": row.requested}
        else:
            values = _("asked %(asked)s · stock %(stock)s") % {
                "asked": row.requested,
                "stock": row.on_hand,
            }
        short = bool(row.shortfall)
        if short:
            values = _("%(values)s · short %(short)s") % {"values": values, "short": row.shortfall}
        bars.append(
            Bar(
                y=index * CHART_BAND,
                label=_short_label(name),
                full_label=name,
                values=values,
                asked_width=_percent(row.requested, top),
                stock_width=None if row.on_demand else _percent(row.on_hand or 0, top),
                short_x=_percent(row.on_hand or 0, top) if short else None,
                short_width=_percent(row.shortfall, top) if short else None,
                short=short,
            )
        )
    return bars


# --- The pages ----------------------------------------------------------------------------------


@require_GET
@manager_page
def forecast_page(request: HttpRequest, shop: Enterprise, order_cycle_id: int) -> HttpResponse:
    cycle = _cycle(shop, order_cycle_id)
    now = timezone.now()
    cycle_url = reverse("manage-order-cycle", args=[shop.pk, cycle.pk])
    context: dict[str, Any] = {
        "shop": shop,
        "title": _("Forecast: %(name)s") % {"name": cycle.name},
        "area": AREA,
        "crumbs": [
            (_("Order cycles"), reverse("manage-order-cycles", args=[shop.pk])),
            (cycle.name, cycle_url),
        ],
        "cycle": cycle,
        "cycle_url": cycle_url,
        "state": state_label(cycle, now),
    }
    if domain.is_closed(closes_at=cycle.closes_at, now=now):
        return render_page(
            request,
            "manage/forecast/closed.html",
            results_url=results_url(shop, cycle),
            **context,
        )
    show = request.GET.get("show")
    if show not in dict(SHOW_TABS):
        show = DEFAULT_SHOW
    every = _sorted(cycle_forecast(order_cycle=cycle, now=now))
    counts = {key: len(_keep(every, key)) for key, _label in SHOW_TABS}
    table = configure(request, ForecastTable(_keep(every, show)), per_page=PAGE_SIZE)
    shown = list(table.page.object_list.data) if table.page else []
    is_open = domain.is_open(opens_at=cycle.opens_at, closes_at=cycle.closes_at, now=now)
    return render_page(
        request,
        "manage/forecast/page.html",
        table=table,
        bars=chart_bars(shown),
        chart_height=len(shown) * CHART_BAND,
        tabs=[(key, label, counts[key]) for key, label in SHOW_TABS],
        show=show,
        counts=counts,
        total_shortfall=sum(row.shortfall for row in every),
        is_open=is_open,
        orders_url=orders_url(shop, cycle),
        csv_url=reverse("manage-cycle-forecast-csv", args=[shop.pk, cycle.pk])
        + (f"?show={show}" if show != DEFAULT_SHOW else ""),
        **context,
    )


def _cell(text: str) -> str:
    """Text a spreadsheet shows as written: one starting like a formula gets a quote first."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_delimiter() -> str:
    """A semicolon where the decimal mark is a comma (French spreadsheets), else a comma."""
    return ";" if (get_language() or "").startswith("fr") else ","


@require_GET
@manager_page
def forecast_csv(request: HttpRequest, shop: Enterprise, order_cycle_id: int) -> HttpResponse:
    """The forecast's rows (those `?show=` keeps, all by default) as a CSV file: UTF-8 with a
    byte order mark, so spreadsheets read accents right."""
    cycle = _cycle(shop, order_cycle_id)
    if domain.is_closed(closes_at=cycle.closes_at, now=timezone.now()):
        return redirect("manage-cycle-forecast", shop_id=shop.pk, order_cycle_id=cycle.pk)
    show = request.GET.get("show")
    if show not in dict(SHOW_TABS):
        show = DEFAULT_SHOW
    rows = _keep(_sorted(cycle_forecast(order_cycle=cycle)), show)
    name = slugify(cycle.name) or str(cycle.pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="forecast-{name}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=csv_delimiter())
    writer.writerow(
        [
            _("Producer"),
            _("Product"),
            _("Variant"),
            _("SKU"),
            pgettext("forecast", "Asked"),
            pgettext("forecast", "Stock"),
            _("Shortfall"),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                _cell(row.producer_name),
                _cell(row.product_name),
                _cell(row.variant_name),
                _cell(row.sku),
                row.requested,
                _stock_label(row),
                row.shortfall,
            ]
        )
    return response


urlpatterns = [
    path(
        "order-cycles/<int:order_cycle_id>/forecast/", forecast_page, name="manage-cycle-forecast"
    ),
    path(
        "order-cycles/<int:order_cycle_id>/forecast.csv",
        forecast_csv,
        name="manage-cycle-forecast-csv",
    ),
]
