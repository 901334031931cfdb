"""A cycle's orders, an order's page, and the cycle's placement and confirmation results.

Pages only read: orders are placed and confirmed by the engine
(`cadence.subscriptions.services.placement`, `confirmation`). The results page sorts the
cycle's subscription orders by outcome as the shop's summary emails do, so a manager finds
there, one click from each order, what the emails told them.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import django_filters
import django_tables2 as tables
from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from cadence import formatting
from cadence.cycles.domain import has_opened, is_upcoming, order_cycle_is_closed
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import order_cycle_of_shop
from cadence.enterprises.models import Enterprise
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.orders.selectors import (
    cycle_has_orders,
    order_for_page,
    orders_matching,
    orders_of_cycle,
)
from cadence.subscriptions.selectors import (
    CONFIRMATION_OUTCOMES,
    PLACEMENT_OUTCOMES,
    cycle_results,
)
from cadence.web.manage.access import manager_page
from cadence.web.manage.cycles import state_label
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

AREA = "order-cycles"

# Products named in a row of the orders list; the order's page lists them all.
ITEMS_NAMED = 3

# Orders listed per outcome on the results page; the rest are counted, and the orders list
# filtered to them is one click away.
RESULTS_LIMIT = 50


def _cycle_of(shop: Enterprise, order_cycle_id: int) -> OrderCycle:
    cycle = order_cycle_of_shop(shop=shop, order_cycle_id=order_cycle_id)
    if cycle is None:
        raise Http404
    return cycle


def _cycle_crumbs(shop: Enterprise, cycle: OrderCycle) -> list[tuple[str, str]]:
    return [
        (_("Order cycles"), reverse("manage-order-cycles", args=[shop.pk])),
        (cycle.name, reverse("manage-order-cycle", args=[shop.pk, cycle.pk])),
    ]


def _cycle_links(shop: Enterprise, cycle: OrderCycle) -> dict:
    return {
        "orders_url": reverse("manage-cycle-orders", args=[shop.pk, cycle.pk]),
        "results_url": reverse("manage-cycle-results", args=[shop.pk, cycle.pk]),
    }


def _status(value: str, label: str) -> str:
    return format_html('<span class="status status-{}">{}</span>', value, label)


# --- a cycle's orders -----------------------------------------------------------------------

SHORTAGE_CHOICES = (
    ("yes", gettext_lazy("Given less than asked for")),
    ("no", gettext_lazy("Given in full")),
)


class OrderFilter(django_filters.FilterSet):
    """The list's query string: a search (order number or customer), the order's state, its
    payment's state, and whether a line was given less than asked for (stock ran short at
    placement)."""

    q = django_filters.CharFilter(
        label=gettext_lazy("Find an order"),
        method="search",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    state = django_filters.ChoiceFilter(
        label=gettext_lazy("Order state"),
        choices=OrderState.choices,
        empty_label=gettext_lazy("All"),
    )
    payment_state = django_filters.ChoiceFilter(
        label=gettext_lazy("Payment"),
        choices=PaymentState.choices,
        empty_label=gettext_lazy("All"),
    )
    shortage = django_filters.ChoiceFilter(
        label=gettext_lazy("Quantities"),
        choices=SHORTAGE_CHOICES,
        empty_label=gettext_lazy("All"),
        method="filter_shortage",
    )

    class Meta:
        model = Order
        fields = ["q", "state", "payment_state", "shortage"]

    def search(self, queryset, name, value):
        return orders_matching(queryset, value)

    def filter_shortage(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(short_lines__gt=0)
        return queryset.filter(short_lines=0)


class CycleOrderTable(ManageTable):
    number = tables.Column(verbose_name=gettext_lazy("Order"), order_by=("number", "id"))
    customer = tables.Column(
        verbose_name=gettext_lazy("Customer"),
        order_by=("customer__last_name", "customer__first_name", "customer__email", "id"),
    )
    items = tables.Column(
        verbose_name=gettext_lazy("Items"), accessor="item_count", order_by=("item_count", "id")
    )
    total = tables.Column(verbose_name=gettext_lazy("Total"), order_by=("total", "id"))
    state = tables.Column(verbose_name=gettext_lazy("State"), order_by=("state", "id"))
    payment_state = tables.Column(
        verbose_name=gettext_lazy("Payment"), order_by=("payment_state", "id")
    )

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive cycle-orders"}

    def __init__(self, *args, shop: Enterprise, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop

    def render_number(self, record: Order):
        url = reverse("manage-order", args=[self.shop.pk, record.pk])
        return format_html('<a href="{}">{}</a>', url, record.number)

    def render_customer(self, record: Order):
        customer = record.customer
        if customer.full_name:
            return format_html(
                '<span>{}<br><span class="muted email">{}</span></span>',
                customer.full_name,
                customer.email,
            )
        return format_html('<span class="email">{}</span>', customer.email)

    def render_items(self, record: Order):
        given = [line for line in record.line_items.all() if line.quantity > 0]
        count = ngettext("%(n)s item", "%(n)s items", record.item_count) % {"n": record.item_count}  # type: ignore[attr-defined]  # annotated by the selector
        named = format_html_join(
            ", ",
            "{}\u00a0×\u00a0{}",
            ((line.quantity, line.variant.product.name) for line in given[:ITEMS_NAMED]),
        )
        if len(given) > ITEMS_NAMED:
            more = len(given) - ITEMS_NAMED
            named = format_html(
                "{}, {}",
                named,
                ngettext("and %(n)s more product", "and %(n)s more products", more) % {"n": more},
            )
        short = ""
        if record.short_lines:  # type: ignore[attr-defined]  # annotated by the selector
            short = format_html(
                '<br><span class="status status-failed">{}</span>', _("less than asked for")
            )
        return format_html(
            '<span>{}<br><span class="muted">{}</span>{}</span>', count, named, short
        )

    def render_total(self, record: Order):
        return formatting.money(record.total, record.currency)

    def render_state(self, record: Order):
        return _status(record.state, record.get_state_display())

    def render_payment_state(self, record: Order):
        return _status(record.payment_state, record.get_payment_state_display())


@require_GET
@manager_page
def cycle_orders(request: HttpRequest, shop: Enterprise, order_cycle_id: int) -> HttpResponse:
    cycle = _cycle_of(shop, order_cycle_id)
    filters = OrderFilter(request.GET, queryset=orders_of_cycle(order_cycle=cycle))
    filtered = filters.is_bound and any(
        request.GET.get(name, "").strip() for name in ("q", "state", "payment_state", "shortage")
    )
    table = configure(request, CycleOrderTable(filters.qs, shop=shop, order_by="number"))
    now = timezone.now()
    has_orders = table.paginator.count > 0 or (filtered and cycle_has_orders(order_cycle=cycle))
    if filtered:
        table.empty_text = _("No order of this cycle matches these filters.")
    elif is_upcoming(opens_at=cycle.opens_at, now=now):
        table.empty_text = _(
            "No order yet: orders are placed when the cycle opens on %(when)s."
        ) % {"when": formatting.local_datetime(cycle.opens_at, shop.timezone)}
    else:
        table.empty_text = _(
            "No order in this cycle: no subscription had anything to order in it. The "
            "cycle's results say why."
        )
    return render_page(
        request,
        "manage/orders/cycle_orders.html",
        shop=shop,
        title=_("Orders of “%(name)s”") % {"name": cycle.name},
        area=AREA,
        crumbs=_cycle_crumbs(shop, cycle),
        cycle=cycle,
        state=state_label(cycle, now),
        table=table,
        filter=filters,
        filtered=filtered,
        has_orders=has_orders,
        sort=request.GET.get("sort", ""),
        **_cycle_links(shop, cycle),
    )


# --- one order ------------------------------------------------------------------------------


def _subscription_url(shop: Enterprise, subscription_id: int) -> str:
    try:
        return reverse("manage-subscription", args=[shop.pk, subscription_id])
    except NoReverseMatch:
        # The subscriptions pages' route, by its address, where that area is not installed.
        return f"/manage/{shop.pk}/subscriptions/{subscription_id}/"


def _one_line_address(address: dict | None) -> str:
    if not address:
        return ""
    name = " ".join(filter(None, (address.get("first_name"), address.get("last_name"))))
    town = " ".join(filter(None, (address.get("postcode"), address.get("city"))))
    parts = (name, address.get("address1"), address.get("address2"), town)
    return ", ".join(part for part in parts if part)


@require_GET
@manager_page
def order_page(request: HttpRequest, shop: Enterprise, order_id: int) -> HttpResponse:
    order = order_for_page(shop=shop, order_id=order_id)
    if order is None:
        raise Http404
    currency = order.currency
    lines = [
        {
            "name": line.variant.full_name,
            "asked": line.requested_quantity,
            "given": line.quantity,
            "short": max(line.requested_quantity - line.quantity, 0),
            "price": formatting.money(line.price, currency),
            "total": formatting.money(line.price * line.quantity, currency),
        }
        for line in order.line_items.all()
    ]
    fees = [
        {
            "label": adjustment.label,
            "kind": adjustment.get_kind_display(),
            "amount": formatting.money(adjustment.amount, currency),
        }
        for adjustment in order.adjustments.all()
    ]
    payments = [
        {
            "method": payment.method.name,
            "amount": formatting.money(payment.amount, currency),
            "state": payment.state,
            "state_label": payment.get_state_display(),
            "error": payment.error,
            "updated_at": payment.updated_at,
        }
        for payment in order.payments.all()
    ]
    try:
        proxy_order = order.proxy_order
    except ObjectDoesNotExist:
        proxy_order = None
    cycle = order.order_cycle
    return render_page(
        request,
        "manage/orders/order.html",
        shop=shop,
        title=_("Order %(number)s") % {"number": order.number},
        area=AREA,
        crumbs=[
            *_cycle_crumbs(shop, cycle),
            (_("Orders"), reverse("manage-cycle-orders", args=[shop.pk, cycle.pk])),
        ],
        order=order,
        cycle=cycle,
        customer_url=reverse("manage-customer-edit", args=[shop.pk, order.customer_id]),
        subscription_url=(
            _subscription_url(shop, proxy_order.subscription_id) if proxy_order else None
        ),
        # Why the subscription's order failed, unless a payment's error below says it.
        failure=(
            proxy_order.reason
            if proxy_order and proxy_order.reason not in {p["error"] for p in payments}
            else ""
        ),
        ship_address=_one_line_address(order.ship_address),
        lines=lines,
        short_lines=sum(1 for line in lines if line["short"]),
        fees=fees,
        payments=payments,
        item_total=formatting.money(order.item_total, currency),
        fee_total=formatting.money(order.fee_total, currency),
        total=formatting.money(order.total, currency),
        **_cycle_links(shop, cycle),
    )


# --- a cycle's results ----------------------------------------------------------------------


def _outcome_titles() -> dict:
    """Each outcome's heading, as the shop's summary emails word it (same catalogue
    entries), by the name of its list; called per request, in the page's language."""
    return {
        "placed_in_full": lambda n: ngettext(
            "Placed in full (%(counter)s order):", "Placed in full (%(counter)s orders):", n
        ),
        "shortages": lambda n: ngettext(
            "Insufficient stock (%(counter)s order): placed with less than was asked for.",
            "Insufficient stock (%(counter)s orders): placed with less than was asked for.",
            n,
        ),
        "empty": lambda n: ngettext(
            "No stock (%(counter)s subscription): nothing available, no order placed.",
            "No stock (%(counter)s subscriptions): nothing available, no order placed.",
            n,
        ),
        "failed": lambda n: ngettext(
            "Failed (%(counter)s subscription):", "Failed (%(counter)s subscriptions):", n
        ),
        "paid_orders": lambda n: ngettext(
            "Paid by card (%(counter)s order):", "Paid by card (%(counter)s orders):", n
        ),
        "to_collect": lambda n: ngettext(
            "To be paid by hand (%(counter)s order):",
            "To be paid by hand (%(counter)s orders):",
            n,
        ),
        "to_charge": lambda n: ngettext(
            "Still to charge by card (%(counter)s order):",
            "Still to charge by card (%(counter)s orders):",
            n,
        ),
        "failed_payment": lambda n: ngettext(
            "Failed payment (%(counter)s order):", "Failed payment (%(counter)s orders):", n
        ),
        "awaiting_authentication": lambda n: ngettext(
            "Awaiting authentication by the buyer (%(counter)s order):",
            "Awaiting authentication by the buyers (%(counter)s orders):",
            n,
        ),
        "voided": lambda n: ngettext(
            "Payment voided (%(counter)s order):", "Payment voided (%(counter)s orders):", n
        ),
        "not_placed": lambda n: ngettext(
            "Failed without an order (%(counter)s subscription):",
            "Failed without an order (%(counter)s subscriptions):",
            n,
        ),
    }


# The orders list's filters that show all the orders of an outcome (outcomes without an
# order have none).
OUTCOME_FILTERS: dict[str, dict[str, str]] = {
    "placed_in_full": {"shortage": "no"},
    "shortages": {"shortage": "yes"},
    "paid_orders": {"state": OrderState.CONFIRMED, "payment_state": PaymentState.PAID},
    "to_collect": {"state": OrderState.CONFIRMED, "payment_state": PaymentState.PENDING},
    "to_charge": {"state": OrderState.CONFIRMED, "payment_state": PaymentState.PENDING},
    "failed_payment": {"state": OrderState.CONFIRMED, "payment_state": PaymentState.FAILED},
    "awaiting_authentication": {
        "state": OrderState.CONFIRMED,
        "payment_state": PaymentState.REQUIRES_AUTHORIZATION,
    },
    "voided": {"state": OrderState.CONFIRMED, "payment_state": PaymentState.VOID},
}

# Where the outcome needs the manager: these sections are marked for attention.
ATTENTION = {"shortages", "empty", "failed", "failed_payment", "awaiting_authentication"}


def _sections(shop: Enterprise, summary: dict, names, orders_url: str) -> list[dict]:
    titles = _outcome_titles()
    sections = []
    for name in names:
        count = summary["counts"][name]
        if not count:
            continue
        rows = [
            {
                **row,
                "url": reverse("manage-order", args=[shop.pk, row["order_id"]])
                if row["order_id"]
                else None,
            }
            for row in summary[name]
        ]
        more = summary["more"][name]
        more_url = None
        if more and name in OUTCOME_FILTERS:
            more_url = f"{orders_url}?{urlencode(OUTCOME_FILTERS[name])}"
        sections.append(
            {
                "name": name,
                "title": titles[name](count) % {"counter": count},
                "rows": rows,
                "more": more,
                "more_url": more_url,
                "attention": name in ATTENTION,
            }
        )
    return sections


def _when(moment: datetime, shop: Enterprise) -> str:
    return formatting.local_datetime(moment, shop.timezone)


@require_GET
@manager_page
def cycle_results_page(request: HttpRequest, shop: Enterprise, order_cycle_id: int) -> HttpResponse:
    cycle = _cycle_of(shop, order_cycle_id)
    now = timezone.now()
    links = _cycle_links(shop, cycle)
    results = cycle_results(order_cycle=cycle, limit=RESULTS_LIMIT)
    placement, confirmation = results["placement"], results["confirmation"]
    return render_page(
        request,
        "manage/orders/results.html",
        shop=shop,
        title=_("Results of “%(name)s”") % {"name": cycle.name},
        area=AREA,
        crumbs=_cycle_crumbs(shop, cycle),
        cycle=cycle,
        state=state_label(cycle, now),
        opened=has_opened(opens_at=cycle.opens_at, now=now),
        closed=order_cycle_is_closed(cycle, now=now),
        opens_on=_when(cycle.opens_at, shop),
        closes_on=_when(cycle.closes_at, shop),
        placed=placement["placed"],
        confirmed=confirmation["confirmed"],
        waiting=results["waiting"],
        skipped=results["skipped"],
        to_confirm=confirmation["to_confirm"],
        placement_sections=_sections(shop, placement, PLACEMENT_OUTCOMES, links["orders_url"]),
        confirmation_sections=_sections(
            shop, confirmation, CONFIRMATION_OUTCOMES, links["orders_url"]
        ),
        **links,
    )


urlpatterns = [
    path("order-cycles/<int:order_cycle_id>/orders/", cycle_orders, name="manage-cycle-orders"),
    path(
        "order-cycles/<int:order_cycle_id>/results/",
        cycle_results_page,
        name="manage-cycle-results",
    ),
    path("orders/<int:order_id>/", order_page, name="manage-order"),
]
