"""The shop's subscriptions: the list (filters, search, columns), each subscription's page
(deliveries, history) and the pause, unpause, cancel, skip and resume actions.

Every write goes through `cadence.subscriptions.services.lifecycle`, the services the API
uses, so a page and the API refuse the same things with the same messages and leave the same
audit rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadence import formatting
from cadence.cycles.domain import has_opened, is_current, order_cycle_is_open
from cadence.cycles.models import Schedule
from cadence.cycles.selectors import schedules_for_shop
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import enterprise_only
from cadence.errors import Conflict, NotFound, ValidationFailed
from cadence.orders.models import OrderState
from cadence.subscriptions.domain import Status
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from cadence.subscriptions.selectors import (
    event_references,
    line_item_available,
    placed_open_proxy_orders,
    proxy_order_of_subscription,
    proxy_orders_of,
    subscription_detail,
    subscription_events,
    subscription_status,
    subscriptions_estimates,
    subscriptions_table_for_shop,
)
from cadence.subscriptions.services import lifecycle
from cadence.subscriptions.setup import setup_checklists
from cadence.web.manage.access import manager_page
from cadence.web.manage.forms import add_service_errors
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure
from cadence.web.models import TableColumns

AREA = "subscriptions"
TABLE = "subscriptions"

# A subscription is "un abonnement" (masculine): its statuses get their own context.
STATUS_LABELS = {
    Status.ACTIVE: pgettext_lazy("subscription status", "Active"),
    Status.PENDING: pgettext_lazy("subscription status", "Not started yet"),
    Status.PAUSED: pgettext_lazy("subscription status", "Paused"),
    Status.ENDED: pgettext_lazy("subscription status", "Ended"),
    Status.CANCELED: pgettext_lazy("subscription status", "Canceled"),
}
# Statuses in which a subscription still places orders (or will): it can be paused.
RUNNING = (Status.ACTIVE, Status.PENDING)
# Statuses in which canceling still changes something.
CANCELABLE = (Status.ACTIVE, Status.PENDING, Status.PAUSED)


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def _url(name: str, args: list, fallback: str) -> str:
    """The URL of a route that another part of the back office provides; its path as the
    back office lays it out while the route is not there."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def detail_url(shop: Enterprise, subscription_id: int) -> str:
    return reverse("manage-subscription", args=[shop.pk, subscription_id])


def edit_url(shop: Enterprise, subscription_id: int) -> str:
    return _url(
        "manage-subscription-edit",
        [shop.pk, subscription_id],
        f"{detail_url(shop, subscription_id)}edit/",
    )


def new_url(shop: Enterprise) -> str:
    list_url = reverse("manage-subscriptions", args=[shop.pk])
    return _url("manage-subscription-new", [shop.pk], f"{list_url}new/")


def order_url(shop: Enterprise, order_id: int) -> str:
    return _url("manage-order", [shop.pk, order_id], f"/manage/{shop.pk}/orders/{order_id}/")


def _safe_next(request: HttpRequest, shop: Enterprise, default: str) -> str:
    """Where to go back to: `next` when it is one of this shop's subscription pages."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    prefix = reverse("manage-subscriptions", args=[shop.pk])
    if (
        target.startswith(prefix)
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and "\\" not in target
    ):
        return target
    return default


# --- the list ------------------------------------------------------------------------------

# The columns a manager may hide (the customer stays: it opens the subscription), and those
# hidden until they choose.
HIDEABLE = (
    ("schedule", gettext_lazy("Schedule")),
    ("items", gettext_lazy("Products")),
    ("next_delivery", gettext_lazy("Next delivery")),
    ("status", gettext_lazy("Status")),
    ("begins", gettext_lazy("Begins")),
    ("ends", pgettext_lazy("subscription", "Ends")),
    ("payment_method", gettext_lazy("Payment method")),
    ("shipping_method", gettext_lazy("Shipping method")),
)
HIDDEN_BY_DEFAULT = ("ends", "payment_method", "shipping_method")
ITEMS_SHOWN = 3


class SubscriptionFilter(django_filters.FilterSet):
    """The list's query string: `q` (customer's email or name), `status` and `schedule`,
    all applied by the subscriptions selector, as the API's `?q=&status=&schedule_id=`."""

    q = django_filters.CharFilter(
        label=gettext_lazy("Find a customer"),
        method="keep",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"),
        choices=list(STATUS_LABELS.items()),
        empty_label=gettext_lazy("Any status"),
        method="keep",
    )
    schedule = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Schedule"),
        queryset=Schedule.objects.none(),
        empty_label=gettext_lazy("Any schedule"),
        method="keep",
    )

    def __init__(self, data, *, shop: Enterprise, now: datetime):
        self.shop, self.now = shop, now
        super().__init__(data, queryset=subscriptions_table_for_shop(shop=shop, now=now))
        self.form.fields["schedule"].queryset = schedules_for_shop(shop=shop)

    def keep(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        schedule = data.get("schedule")
        return subscriptions_table_for_shop(
            shop=self.shop,
            status=data.get("status") or None,
            q=(data.get("q") or "").strip() or None,
            schedule_id=schedule.pk if schedule else None,
            now=self.now,
        )

    @property
    def active(self) -> bool:
        self.is_valid()  # cleans the form; a value that does not parse filters nothing
        data = getattr(self.form, "cleaned_data", {})
        return any(data.get(name) for name in ("q", "status", "schedule"))


class SubscriptionTable(ManageTable):
    customer = tables.Column(
        verbose_name=gettext_lazy("Customer"),
        order_by=("customer__last_name", "customer__first_name", "customer__email", "id"),
    )
    schedule = tables.Column(
        verbose_name=gettext_lazy("Schedule"),
        accessor="schedule__name",
        order_by=("schedule__name", "id"),
    )
    items = tables.Column(
        verbose_name=gettext_lazy("Products"),
        accessor="line_count",
        order_by=("line_count", "id"),
    )
    next_delivery = tables.Column(
        verbose_name=gettext_lazy("Next delivery"),
        accessor="next_closes_at",
        order_by=("next_closes_at", "id"),
    )
    status = tables.Column(
        verbose_name=gettext_lazy("Status"),
        accessor="status_name",
        order_by=("status_name", "id"),
    )
    begins = tables.Column(
        verbose_name=gettext_lazy("Begins"), accessor="begins_at", order_by=("begins_at", "id")
    )
    ends = tables.Column(
        verbose_name=pgettext_lazy("subscription", "Ends"),
        accessor="ends_at",
        order_by=("ends_at", "id"),
    )
    payment_method = tables.Column(
        verbose_name=gettext_lazy("Payment method"),
        accessor="payment_method__name",
        order_by=("payment_method__name", "id"),
    )
    shipping_method = tables.Column(
        verbose_name=gettext_lazy("Shipping method"),
        accessor="shipping_method__name",
        order_by=("shipping_method__name", "id"),
    )
    actions = tables.TemplateColumn(
        template_name="manage/subscriptions/_list_actions.html",
        verbose_name=gettext_lazy("Actions"),
        orderable=False,
        empty_values=(),
    )

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive subscriptions"}

    # A subscription with no delivery to come, or no end date, sorts after the others both
    # ways, the same on every database (SQLite and PostgreSQL place NULLs differently).
    def _empty_last(self, queryset, field: str, is_descending: bool):
        value = F(field).desc(nulls_last=True) if is_descending else F(field).asc(nulls_last=True)
        id_order = "-id" if is_descending else "id"
        return queryset.order_by(value, id_order), True

    def order_next_delivery(self, queryset, is_descending: bool):
        return self._empty_last(queryset, "next_closes_at", is_descending)

    def order_ends(self, queryset, is_descending: bool):
        return self._empty_last(queryset, "ends_at", is_descending)

    def __init__(self, *args, shop: Enterprise, back: str, **kwargs):
        self.shop, self.back = shop, back
        super().__init__(*args, **kwargs)

    def render_customer(self, record: Subscription):
        customer = record.customer
        url = detail_url(self.shop, record.pk)
        if customer.full_name:
            return format_html(
                '<a href="{}">{}</a><br><span class="muted email">{}</span>',
                url,
                customer.full_name,
                customer.email,
            )
        return format_html('<a href="{}" class="email">{}</a>', url, customer.email)

    def render_items(self, record: Subscription) -> str:
        lines = list(record.line_items.all())
        shown = ", ".join(
            f"{line.quantity} × {line.variant.full_name}" for line in lines[:ITEMS_SHOWN]
        )
        more = len(lines) - ITEMS_SHOWN
        if more > 0:
            shown += " " + ngettext("and %(n)s more", "and %(n)s more", more) % {"n": more}
        return shown or self.default

    def render_next_delivery(self, record: Subscription):
        if record.status_name not in RUNNING:  # type: ignore[attr-defined]  # annotated by the selector
            return self.default
        return format_html(
            '{}<br><span class="muted">{}</span>',
            formatting.local_date(record.next_closes_at, self.shop.timezone),  # type: ignore[attr-defined]  # annotated by the selector
            record.next_cycle_name,  # type: ignore[attr-defined]  # annotated by the selector
        )

    def render_status(self, record: Subscription):
        return format_html(
            '<span class="status status-{}">{}</span>',
            record.status_name,  # type: ignore[attr-defined]  # annotated by the selector
            status_label(record.status_name),  # type: ignore[attr-defined]  # annotated by the selector
        )

    def render_begins(self, value) -> str:
        return formatting.local_date(value, self.shop.timezone)

    def render_ends(self, value) -> str:
        return formatting.local_date(value, self.shop.timezone)


def _row_actions(shop: Enterprise, subscription: Subscription, back: str) -> list[tuple]:
    """(label, url, kind) of what can be done to a subscription from a list or its page."""
    status = getattr(subscription, "status_name", None) or subscription_status(
        subscription, now=timezone.now()
    )
    query = "?" + urlencode({"next": back}) if back else ""
    base = detail_url(shop, subscription.pk)
    actions = []
    if status != Status.CANCELED:
        actions.append((_("Edit"), edit_url(shop, subscription.pk), ""))
    if status in RUNNING:
        actions.append((_("Pause"), f"{base}pause/{query}", ""))
    if status == Status.PAUSED:
        actions.append((pgettext("subscription", "Unpause"), f"{base}unpause/{query}", ""))
    if status in CANCELABLE:
        actions.append((pgettext("subscription", "Cancel"), f"{base}cancel/{query}", "danger"))
    return actions


def _hidden_columns(request: HttpRequest) -> list[str]:
    names = {name for name, _label in HIDEABLE}
    hidden = TableColumns.objects.hidden_for(request.user, TABLE, default=HIDDEN_BY_DEFAULT)
    return [name for name in hidden if name in names]


def _empty_text(filters: SubscriptionFilter) -> str:
    if filters.active:
        return _("No subscription matches these filters. Change them, or show all subscriptions.")
    return _(
        "No subscriptions yet. Create the first one: choose a customer, a schedule, "
        "and the products they receive each time."
    )


@manager_page
@require_GET
def subscription_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    now = timezone.now()
    filters = SubscriptionFilter(request.GET, shop=shop, now=now)
    back = request.get_full_path()
    hidden = _hidden_columns(request)
    table = SubscriptionTable(filters.qs, shop=shop, back=back, exclude=hidden)
    table.empty_text = _empty_text(filters)
    configure(request, table)
    rows = list(table.page.object_list) if table.page else []
    for row in rows:
        row.record.row_actions = _row_actions(shop, row.record, back)
    checklist, steps = None, []
    if not rows and not filters.active:
        # The empty list says what to set up first (the overview's checklist).
        from cadence.web.manage.home import STEP_LABELS, STEP_PAGES

        checklist = setup_checklists([shop], now=now)[shop.pk]
        steps = [
            {
                "label": STEP_LABELS[step],
                "url": reverse(STEP_PAGES[step], args=[shop.pk]),
                "done": done,
            }
            for step, done in checklist.steps()
        ]
    return render_page(
        request,
        "manage/subscriptions/list.html",
        shop=shop,
        title=_("Subscriptions"),
        area=AREA,
        table=table,
        filter=filters,
        filtered=filters.active,
        checklist=checklist,
        steps=steps,
        new_url=new_url(shop),
        columns=[(name, label, name not in hidden) for name, label in HIDEABLE],
        back=back,
    )


@manager_page
@require_POST
def subscription_columns(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    """Remember which columns of the list the user shows (the ticked ones)."""
    shown = set(request.POST.getlist("show"))
    TableColumns.objects.remember(
        request.user, TABLE, [name for name, _label in HIDEABLE if name not in shown]
    )
    return redirect(_safe_next(request, shop, reverse("manage-subscriptions", args=[shop.pk])))


# --- the subscription's page ---------------------------------------------------------------


def _subscription_of(shop: Enterprise, subscription_id: int) -> Subscription:
    try:
        return subscription_detail(subscription_id=subscription_id, shops=enterprise_only(shop))
    except NotFound:
        raise Http404 from None


def _list_crumb(shop: Enterprise) -> tuple[str, str]:
    return (_("Subscriptions"), reverse("manage-subscriptions", args=[shop.pk]))


def subscription_title(subscription: Subscription) -> str:
    customer = subscription.customer
    return _("%(customer)s · %(schedule)s") % {
        "customer": customer.full_name or customer.email,
        "schedule": subscription.schedule.name,
    }


@dataclass
class Delivery:
    proxy: ProxyOrder
    state: str
    reason: str
    closes_in: str
    is_open: bool
    order_url: str | None
    can_skip: bool
    can_resume: bool
    can_retry: bool


def _deliveries(
    shop: Enterprise, subscription: Subscription, proxies: list[ProxyOrder], now: datetime
) -> list[Delivery]:
    from django.utils.timesince import timeuntil

    rows = []
    for proxy in proxies:
        cycle, order = proxy.order_cycle, proxy.order
        not_closed = is_current(closes_at=cycle.closes_at, now=now)
        opened = has_opened(opens_at=cycle.opens_at, now=now)
        order_canceled = order is not None and order.state == OrderState.CANCELED
        skipped = proxy.state == ProxyOrderState.CANCELED or order_canceled
        rows.append(
            Delivery(
                proxy=proxy,
                state=str(ProxyOrderState(proxy.state).label)
                if proxy.state in ProxyOrderState.values
                else proxy.state,
                reason=proxy.reason,
                closes_in=timeuntil(cycle.closes_at, now, depth=2) if not_closed and opened else "",
                is_open=not_closed and opened,
                order_url=order_url(shop, order.pk) if order is not None else None,
                can_skip=not_closed and not skipped,
                can_resume=not_closed and skipped and subscription.canceled_at is None,
                can_retry=order_cycle_is_open(cycle, now=now)
                and proxy.state in (ProxyOrderState.EMPTY, ProxyOrderState.FAILED)
                and order is None
                and subscription.canceled_at is None,
            )
        )
    return rows


@manager_page
@require_GET
def subscription_page(request: HttpRequest, shop: Enterprise, subscription_id: int) -> HttpResponse:
    now = timezone.now()
    subscription = _subscription_of(shop, subscription_id)
    status = subscription_status(subscription, now=now)
    proxies = list(proxy_orders_of(subscription=subscription))
    events = list(subscription_events(subscription=subscription))
    estimate = subscriptions_estimates([subscription], now=now)[subscription.pk]
    available = line_item_available(subscription, now=now)
    lines = [(line, available.get(line.pk, False)) for line in subscription.line_items.all()]
    back = request.get_full_path()
    return render_page(
        request,
        "manage/subscriptions/detail.html",
        shop=shop,
        title=subscription_title(subscription),
        area=AREA,
        crumbs=[_list_crumb(shop)],
        subscription=subscription,
        sub_status=status,
        status_label=status_label(status),
        actions=_row_actions(shop, subscription, back),
        lines=lines,
        estimate=estimate,
        deliveries=_deliveries(shop, subscription, proxies, now),
        history=history_of(
            events=events, references=event_references(events), proxies=proxies, shop=shop
        ),
        back=back,
    )


# --- the history ---------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime
    who: str
    text: str
    details: list[str] = field(default_factory=list)


CHANGE_LABELS = {
    "payment_method_id": gettext_lazy("Payment method"),
    "shipping_method_id": gettext_lazy("Shipping method"),
    "begins_at": gettext_lazy("Begins"),
    "ends_at": pgettext_lazy("subscription", "Ends"),
    "bill_address": gettext_lazy("Bill address"),
    "ship_address": gettext_lazy("Ship address"),
    "line_items": gettext_lazy("Products"),
}


class _Describe:
    """Turns audit events into sentences, with the names their ids refer to."""

    def __init__(self, references, shop: Enterprise):
        self.refs, self.shop = references, shop

    @staticmethod
    def _name(names: dict[int, str], value) -> str:
        try:
            return names.get(int(value)) or f"#{value}"
        except (TypeError, ValueError):
            return str(value)

    def cycle(self, value) -> str:
        return self._name(self.refs.cycles, value)

    def order(self, value) -> str:
        return self._name(self.refs.orders, value)

    def orders(self, values) -> str:
        return ", ".join(self.order(v) for v in values or [])

    def variant(self, value) -> str:
        return self._name(self.refs.variants, value)

    def moment(self, value) -> str:
        if not value:
            return pgettext("no value", "none")
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return formatting.local_datetime(parsed, self.shop.timezone)

    def day(self, value) -> str:
        from datetime import date

        try:
            return formatting.local_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)

    @staticmethod
    def address(value) -> str:
        if not isinstance(value, dict) or not value:
            return pgettext("no value", "none")
        name = " ".join(p for p in (value.get("first_name"), value.get("last_name")) if p)
        town = " ".join(p for p in (value.get("postcode"), value.get("city")) if p)
        parts = (name, value.get("address1"), value.get("address2"), town, value.get("country"))
        return ", ".join(p for p in parts if p)

    def value(self, key: str, value) -> str:
        if value is None or value == "":
            return pgettext("no value", "none")
        if key == "payment_method_id":
            return self._name(self.refs.payment_methods, value)
        if key == "shipping_method_id":
            return self._name(self.refs.shipping_methods, value)
        if key in ("begins_at", "ends_at"):
            return self.moment(value)
        if key in ("bill_address", "ship_address"):
            return self.address(value)
        return str(value)

    def line_changes(self, before, after) -> list[str]:
        def quantities(lines) -> dict:
            return {
                line.get("variant_id"): line.get("quantity")
                for line in lines or []
                if isinstance(line, dict)
            }

        old, new = quantities(before), quantities(after)
        out = []
        for variant_id in [*old, *(v for v in new if v not in old)]:
            name = self.variant(variant_id)
            if variant_id not in new:
                out.append(
                    _("%(product)s: removed (was %(before)s)")
                    % {"product": name, "before": old[variant_id]}
                )
            elif variant_id not in old:
                out.append(
                    _("%(product)s: added, quantity %(after)s")
                    % {"product": name, "after": new[variant_id]}
                )
            elif old[variant_id] != new[variant_id]:
                out.append(
                    _("%(product)s: quantity %(before)s → %(after)s")
                    % {"product": name, "before": old[variant_id], "after": new[variant_id]}
                )
        return out

    def changes(self, changes: dict) -> list[str]:
        out = []
        for key, change in changes.items():
            if not isinstance(change, dict):
                continue
            if key == "line_items":
                out.extend(self.line_changes(change.get("from"), change.get("to")))
                continue
            out.append(
                _("%(field)s: %(before)s → %(after)s")
                % {
                    "field": CHANGE_LABELS.get(key, key.replace("_", " ")),
                    "before": self.value(key, change.get("from")),
                    "after": self.value(key, change.get("to")),
                }
            )
        return out

    def event(self, kind: str, data: dict) -> tuple[str, list[str]]:
        """The sentence and the details of one event."""
        if kind == "created":
            lines = data.get("line_items") or {}
            return _("Created the subscription."), [
                _("%(quantity)s × %(product)s") % {"quantity": q, "product": self.variant(v)}
                for v, q in (lines.items() if isinstance(lines, dict) else [])
            ]
        if kind == "updated":
            details = self.changes(data.get("changes") or {})
            for issue in data.get("order_update_issues") or []:
                if isinstance(issue, dict):
                    details.append(
                        _("Order %(order)s (%(cycle)s) was left as it is: %(issue)s")
                        % {
                            "order": self.order(issue.get("order_id")),
                            "cycle": self.cycle(issue.get("order_cycle_id")),
                            "issue": issue.get("issue", ""),
                        }
                    )
            if not data.get("changes"):
                return _("Saved the subscription without changing it."), details
            return _("Changed the subscription."), details
        if kind == "paused":
            details = []
            if data.get("open_orders") == "keep":
                details.append(_("Orders already placed in open cycles were kept."))
            if data.get("canceled_orders"):
                details.append(
                    _("Orders canceled: %(orders)s")
                    % {"orders": self.orders(data["canceled_orders"])}
                )
            if data.get("resume_on"):
                text = _("Paused the subscription until %(date)s.") % {
                    "date": self.day(data["resume_on"])
                }
            else:
                text = _("Paused the subscription.")
            return text, details
        if kind == "unpaused":
            placing = len(data.get("placing") or [])
            details = (
                [
                    ngettext(
                        "%(n)s delivery of an open cycle placed at once.",
                        "%(n)s deliveries of open cycles placed at once.",
                        placing,
                    )
                    % {"n": placing}
                ]
                if placing
                else []
            )
            return _("Unpaused the subscription."), details
        if kind == "canceled":
            details = []
            if data.get("kept_orders"):
                details.append(
                    _("Orders kept: %(orders)s") % {"orders": self.orders(data["kept_orders"])}
                )
            elif data.get("open_orders") == "cancel":
                details.append(_("Orders already placed in open cycles were canceled."))
            return _("Canceled the subscription."), details
        cycle = self.cycle(data.get("order_cycle_id"))
        if kind == "delivery_skipped":
            details = []
            if data.get("order_id"):
                details.append(
                    _("Order %(order)s canceled.") % {"order": self.order(data["order_id"])}
                )
            return _("Skipped the delivery of %(cycle)s.") % {"cycle": cycle}, details
        if kind == "delivery_resumed":
            return _("Resumed the delivery of %(cycle)s.") % {"cycle": cycle}, []
        if kind == "delivery_retried":
            return _("Asked to place the delivery of %(cycle)s again.") % {"cycle": cycle}, []
        label = kind.replace("_", " ").replace("-", " ").strip().capitalize() or "?"
        return f"{label}.", []


def _outcomes(proxies: list[ProxyOrder]) -> list:
    """What the engine did to each delivery (placement, confirmation, payment), read from the
    deliveries themselves: the engine keeps its outcomes there."""
    system = _("Cadence (automatic)")
    entries = []
    for proxy in proxies:
        cycle, order = proxy.order_cycle, proxy.order
        if order is not None and proxy.placed_at:
            entries.append(
                HistoryEntry(
                    proxy.placed_at,
                    system,
                    _("Placed order %(order)s for %(cycle)s (%(total)s).")
                    % {
                        "order": order.number,
                        "cycle": cycle.name,
                        "total": formatting.money(order.total, order.currency),
                    },
                )
            )
        if proxy.state == ProxyOrderState.CONFIRMED and proxy.confirmed_at and order is not None:
            entries.append(
                HistoryEntry(
                    proxy.confirmed_at,
                    system,
                    _("Confirmed order %(order)s when %(cycle)s closed.")
                    % {"order": order.number, "cycle": cycle.name},
                    [_("Payment: %(state)s") % {"state": order.get_payment_state_display()}],
                )
            )
        elif proxy.state == ProxyOrderState.FAILED:
            if order is not None and proxy.confirmed_at:
                text = _("The payment of order %(order)s failed.") % {"order": order.number}
            else:
                text = _("The order for %(cycle)s could not be placed.") % {"cycle": cycle.name}
            at = proxy.confirmed_at or proxy.placed_at or max(cycle.opens_at, proxy.created_at)
            entries.append(HistoryEntry(at, system, text, [proxy.reason] if proxy.reason else []))
        elif proxy.state == ProxyOrderState.EMPTY:
            entries.append(
                HistoryEntry(
                    max(cycle.opens_at, proxy.created_at),
                    system,
                    _("Nothing was available for %(cycle)s: no order was placed.")
                    % {"cycle": cycle.name},
                )
            )
    return entries


def history_of(*, events, references, proxies: list[ProxyOrder], shop: Enterprise) -> list:
    """Every audit event and every outcome of the engine, newest first."""
    describe = _Describe(references, shop)
    entries = _outcomes(proxies)
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        text, details = describe.event(event.kind, data)
        who = event.actor.email or event.actor.get_username() if event.actor else None
        entries.append(
            HistoryEntry(event.created_at, who or _("Cadence (automatic)"), text, details)
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


# --- pause, unpause, cancel ----------------------------------------------------------------

OPEN_ORDER_CHOICES = (
    ("keep", gettext_lazy("Keep them: they are confirmed when their cycle closes.")),
    ("cancel", gettext_lazy("Cancel them: their products go back in stock.")),
)


class OpenOrdersForm(forms.Form):
    """What to do with orders already placed in open cycles (asked only when there are some),
    and for a pause, the day it ends by itself."""

    open_orders = forms.ChoiceField(
        label=gettext_lazy("Orders already placed"),
        choices=OPEN_ORDER_CHOICES,
        widget=forms.RadioSelect,
    )
    resume_on = forms.DateField(
        label=gettext_lazy("Unpause by itself on (optional)"),
        required=False,
        help_text=gettext_lazy("Leave empty to unpause by hand."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )

    def __init__(self, *args, ask_open_orders: bool, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_open_orders:
            del self.fields["open_orders"]
        if kind != "pause":
            del self.fields["resume_on"]


ACTION_TITLES = {
    "pause": gettext_lazy("Pause the subscription"),
    "unpause": gettext_lazy("Unpause the subscription"),
    "cancel": gettext_lazy("Cancel the subscription"),
}
ACTION_TEMPLATES = {
    "pause": "manage/subscriptions/_pause.html",
    "unpause": "manage/subscriptions/_pause_end.html",
    "cancel": "manage/subscriptions/_cancel.html",
}


def _run(kind: str, subscription: Subscription, form: OpenOrdersForm, actor) -> list[dict]:
    """Call the service of `kind`; returns the orders it could not update (unpause)."""
    open_orders = form.cleaned_data.get("open_orders") or None
    if kind == "pause":
        lifecycle.subscription_pause(
            subscription=subscription,
            open_orders=open_orders,
            resume_on=form.cleaned_data.get("resume_on"),
            actor=actor,
        )
    elif kind == "unpause":
        _subscription, issues = lifecycle.subscription_unpause(
            subscription=subscription, actor=actor
        )
        return issues
    else:
        lifecycle.subscription_cancel(
            subscription=subscription, open_orders=open_orders, actor=actor
        )
    return []


def _done_message(kind: str, subscription: Subscription, form: OpenOrdersForm) -> str:
    who = subscription.customer.full_name or subscription.customer.email
    if kind == "pause" and form.cleaned_data.get("resume_on"):
        return _("The subscription of %(customer)s is paused until %(date)s.") % {
            "customer": who,
            "date": formatting.local_date(form.cleaned_data["resume_on"]),
        }
    if kind == "pause":
        return _("The subscription of %(customer)s is paused.") % {"customer": who}
    if kind == "unpause":
        return _("The subscription of %(customer)s runs again.") % {"customer": who}
    return _("The subscription of %(customer)s is canceled.") % {"customer": who}


def _action_page(request: HttpRequest, shop: Enterprise, subscription_id: int, kind: str):
    """GET asks (and what to do with orders already placed in open cycles, when there are
    some); POST calls the service and goes back where the manager came from."""
    subscription = _subscription_of(shop, subscription_id)
    now = timezone.now()
    back = _safe_next(request, shop, detail_url(shop, subscription.pk))
    placed = (
        []
        if kind == "unpause"
        else sorted(
            placed_open_proxy_orders(subscription=subscription, now=now),
            key=lambda proxy: (proxy.order_cycle.closes_at, proxy.pk),
        )
    )
    data = request.POST if request.method == "POST" else None
    form = OpenOrdersForm(data, ask_open_orders=bool(placed), kind=kind)
    refusal = None
    if data is not None and form.is_valid():
        try:
            issues = _run(kind, subscription, form, request.user)
        except ValidationFailed as error:
            add_service_errors(form, error)
        except Conflict as conflict:
            refusal = conflict.detail
            if conflict.field == "open_orders":
                # An order was placed since the page was shown: ask about it now.
                placed = list(placed_open_proxy_orders(subscription=subscription, now=now))
                form = OpenOrdersForm(ask_open_orders=True, kind=kind)
                refusal = _(
                    "An order of this subscription was placed meanwhile: say what to do with it."
                )
        else:
            messages.success(request, _done_message(kind, subscription, form))
            if issues:
                messages.warning(
                    request,
                    ngettext(
                        "%(n)s placed order could not be updated: it was changed by hand.",
                        "%(n)s placed orders could not be updated: they were changed by hand.",
                        len(issues),
                    )
                    % {"n": len(issues)},
                )
            return redirect(back)
    status = subscription_status(subscription, now=now)
    return render_page(
        request,
        ACTION_TEMPLATES[kind],
        shop=shop,
        title=str(ACTION_TITLES[kind]),
        area=AREA,
        crumbs=[
            _list_crumb(shop),
            (subscription_title(subscription), detail_url(shop, subscription.pk)),
        ],
        subscription=subscription,
        sub_status=status,
        status_label=status_label(status),
        placed=placed,
        form=form,
        refusal=refusal,
        back=back,
        kind=kind,
        confirm_url=request.path,
    )


@manager_page
@require_http_methods(["GET", "POST"])
def subscription_pause_page(request, shop, subscription_id: int) -> HttpResponse:
    return _action_page(request, shop, subscription_id, "pause")


@manager_page
@require_http_methods(["GET", "POST"])
def subscription_unpause_page(request, shop, subscription_id: int) -> HttpResponse:
    return _action_page(request, shop, subscription_id, "unpause")


@manager_page
@require_http_methods(["GET", "POST"])
def subscription_cancel_page(request, shop, subscription_id: int) -> HttpResponse:
    return _action_page(request, shop, subscription_id, "cancel")


# --- skip and resume one delivery ----------------------------------------------------------


DELIVERY_ACTIONS = {
    "skip": (lifecycle.proxy_order_cancel, gettext_lazy("The delivery of %(cycle)s is skipped.")),
    "resume": (
        lifecycle.proxy_order_resume,
        gettext_lazy("The delivery of %(cycle)s is back on."),
    ),
    "retry": (
        lifecycle.proxy_order_retry,
        gettext_lazy("The order for %(cycle)s is being placed again."),
    ),
}


def _delivery_action(request, shop, subscription_id: int, proxy_order_id: int, *, action: str):
    subscription = _subscription_of(shop, subscription_id)
    proxy = proxy_order_of_subscription(subscription=subscription, proxy_order_id=proxy_order_id)
    if proxy is None:
        raise Http404
    service, done = DELIVERY_ACTIONS[action]
    try:
        service(proxy_order=proxy, actor=request.user)
    except Conflict as conflict:
        messages.error(request, conflict.detail)
    else:
        messages.success(request, str(done) % {"cycle": proxy.order_cycle.name})
    return redirect(_safe_next(request, shop, detail_url(shop, subscription.pk)))


@manager_page
@require_POST
def delivery_skip(request, shop, subscription_id: int, proxy_order_id: int) -> HttpResponse:
    return _delivery_action(request, shop, subscription_id, proxy_order_id, action="skip")


@manager_page
@require_POST
def delivery_resume(request, shop, subscription_id: int, proxy_order_id: int) -> HttpResponse:
    return _delivery_action(request, shop, subscription_id, proxy_order_id, action="resume")


@manager_page
@require_POST
def delivery_retry(request, shop, subscription_id: int, proxy_order_id: int) -> HttpResponse:
    return _delivery_action(request, shop, subscription_id, proxy_order_id, action="retry")


urlpatterns = [
    path("subscriptions/", subscription_list, name="manage-subscriptions"),
    path("subscriptions/columns/", subscription_columns, name="manage-subscriptions-columns"),
    path("subscriptions/<int:subscription_id>/", subscription_page, name="manage-subscription"),
    path(
        "subscriptions/<int:subscription_id>/pause/",
        subscription_pause_page,
        name="manage-subscription-pause",
    ),
    path(
        "subscriptions/<int:subscription_id>/unpause/",
        subscription_unpause_page,
        name="manage-subscription-unpause",
    ),
    path(
        "subscriptions/<int:subscription_id>/cancel/",
        subscription_cancel_page,
        name="manage-subscription-cancel",
    ),
    path(
        "subscriptions/<int:subscription_id>/deliveries/<int:proxy_order_id>/skip/",
        delivery_skip,
        name="manage-subscription-delivery-skip",
    ),
    path(
        "subscriptions/<int:subscription_id>/deliveries/<int:proxy_order_id>/resume/",
        delivery_resume,
        name="manage-subscription-delivery-resume",
    ),
    path(
        "subscriptions/<int:subscription_id>/deliveries/<int:proxy_order_id>/retry/",
        delivery_retry,
        name="manage-subscription-delivery-retry",
    ),
]
