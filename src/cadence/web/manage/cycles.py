"""The shop's order cycles: the list by state, create and edit (dates on the shop's clock,
products through a search picker, fees), duplicate a week later, delete with its guard.

Writes go through `cadence.subscriptions.services.scheduling`, which validates through the
cycles services and keeps subscriptions' proxy orders in step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET

from cadence.cycles import domain
from cadence.cycles.models import FeeKind, OrderCycle
from cadence.cycles.selectors import (
    VARIANT_SEARCH_LIMIT,
    order_cycle_for_edit,
    order_cycle_state_counts,
    order_cycles_for_list,
    order_cycles_in_state,
    sellable_variants_matching,
    variants_for_cycle_form,
)
from cadence.enterprises.models import Enterprise
from cadence.errors import ValidationFailed
from cadence.formatting import local_datetime
from cadence.subscriptions.services import scheduling
from cadence.web.manage.access import manager_page
from cadence.web.manage.forms import (
    AmountField,
    IdListField,
    PickerWidget,
    add_service_errors,
    delete_page,
    posted_ids,
)
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

# How far "Duplicate" moves a cycle: the next week's cycle is the usual copy.
CLONE_SHIFT = timedelta(days=7)


# --- Fields -----------------------------------------------------------------------------------


class ShopDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read as a *naive* datetime: the service reads it on the shop's
    clock (`cycles.domain.as_aware`), not on the server's."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        # The base temporal parsing, without DateTimeField's move to the server's zone.
        return forms.fields.BaseTemporalField.to_python(self, value)


# --- Forms --------------------------------------------------------------------------------------

# Fields the service checks (name and dates required, their order) are optional here, so the
# message shown is the service's, the same as the API's.


class VariantPicker(PickerWidget):
    template_name = "manage/cycles/_variant_picker.html"


class OrderCycleForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        help_text=gettext_lazy("Buyers see it, e.g. “Week 50” or “Christmas market”."),
    )
    opens_at = ShopDateTimeField(
        label=gettext_lazy("Opens at"),
        required=False,
        help_text=gettext_lazy("Subscription orders are placed at this time."),
    )
    closes_at = ShopDateTimeField(
        label=gettext_lazy("Closes at"),
        required=False,
        help_text=gettext_lazy(
            "Orders can change until then; at this time they are confirmed and card payments "
            "charged."
        ),
    )
    variant_ids = IdListField(
        label=gettext_lazy("Products sold in this cycle"),
        required=False,
        widget=VariantPicker,
        help_text=gettext_lazy(
            "Search by product name or SKU, then tick the products to sell. Untick one to take "
            "it out."
        ),
    )


class FeeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Fee name"), required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Charged"), choices=FeeKind.choices)
    # The fees' fieldset explains the unit and the decimal mark once, for every row; the
    # column is DECIMAL(12, 2).
    amount = AmountField(
        label=gettext_lazy("Amount"), decimal_places=2, max_digits=12, shown_places=2
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("name") and data.get("amount") is None


class BaseFeeFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields[forms.formsets.DELETION_FIELD_NAME].label = pgettext_lazy("a fee", "Remove")

    def rows(self) -> list[dict]:
        """The fees to save, in order: removed and blank rows left out."""
        return [
            {key: form.cleaned_data.get(key) for key in ("name", "kind", "amount")}
            for form in self.forms
            if not form.is_blank() and not form.cleaned_data.get("DELETE")
        ]


FeeFormSet = forms.formset_factory(FeeForm, formset=BaseFeeFormSet, extra=0, can_delete=True)


class CloneForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), required=False)
    opens_at = ShopDateTimeField(label=gettext_lazy("Opens at"), required=False)
    closes_at = ShopDateTimeField(label=gettext_lazy("Closes at"), required=False)


def _on_shop_clock(moment: datetime, shop: Enterprise) -> datetime:
    """`moment` as the shop's wall-clock time, naive, as a `datetime-local` input shows it."""
    return moment.astimezone(ZoneInfo(shop.timezone)).replace(tzinfo=None)


# --- The list -----------------------------------------------------------------------------------

STATE_TABS = (
    ("current", pgettext_lazy("order cycles", "Open and upcoming")),
    ("open", pgettext_lazy("order cycles", "Open")),
    ("upcoming", pgettext_lazy("order cycles", "Upcoming")),
    ("closed", pgettext_lazy("order cycles", "Closed")),
)
DEFAULT_STATE = "current"


class OrderCycleFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATE_TABS, method="filter_status", empty_label=None
    )

    class Meta:
        model = OrderCycle
        fields = ["status"]

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def filter_status(self, queryset, name, value):
        return order_cycles_in_state(queryset, state=value, now=self.now)


def state_label(cycle: OrderCycle, now: datetime) -> str:
    if domain.is_closed(closes_at=cycle.closes_at, now=now):
        return pgettext("an order cycle", "Closed")
    if domain.is_open(opens_at=cycle.opens_at, closes_at=cycle.closes_at, now=now):
        return pgettext("an order cycle", "Open")
    return pgettext("an order cycle", "Upcoming")


class OrderCycleTable(ManageTable):
    name = tables.Column(verbose_name=gettext_lazy("Name"))
    state = tables.Column(verbose_name=gettext_lazy("State"), accessor="pk", orderable=False)
    opens_at = tables.Column(verbose_name=gettext_lazy("Opens at"))
    closes_at = tables.Column(verbose_name=gettext_lazy("Closes at"))
    variant_count = tables.Column(verbose_name=gettext_lazy("Products"))
    schedules = tables.Column(
        verbose_name=gettext_lazy("Schedules"), accessor="pk", orderable=False
    )
    actions = tables.Column(verbose_name=gettext_lazy("Actions"), accessor="pk", orderable=False)

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive cycles"}
        empty_text = gettext_lazy("No order cycle in this list.")

    def __init__(self, *args, shop: Enterprise, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop, self.now = shop, now

    def render_name(self, record):
        url = reverse("manage-order-cycle", args=[self.shop.pk, record.pk])
        return format_html('<a href="{}">{}</a>', url, record.name)

    def render_state(self, record):
        return state_label(record, self.now)

    def render_opens_at(self, value):
        return local_datetime(value, self.shop.timezone)

    def render_closes_at(self, value):
        return local_datetime(value, self.shop.timezone)

    def render_schedules(self, record):
        if not record.live_schedules:
            return format_html('<span class="muted">{}</span>', _("in no schedule"))
        # One element: a phone's card lays each cell's children out in a row.
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("manage-schedule", args=[self.shop.pk, s.pk]), s.name)
                for s in record.live_schedules
            ),
        )
        return format_html("<span>{}</span>", links)

    def render_actions(self, record):
        return format_html(
            '<span class="row-actions"><a href="{}">{}</a> <a href="{}">{}</a> '
            '<a href="{}">{}</a> <a href="{}">{}</a></span>',
            reverse("manage-cycle-orders", args=[self.shop.pk, record.pk]),
            _("Orders"),
            reverse("manage-cycle-results", args=[self.shop.pk, record.pk]),
            _("Results"),
            reverse("manage-order-cycle-clone", args=[self.shop.pk, record.pk]),
            _("Duplicate"),
            reverse("manage-order-cycle-delete", args=[self.shop.pk, record.pk]),
            _("Delete"),
        )


@require_GET
@manager_page
def order_cycle_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    now = timezone.now()
    state = request.GET.get("status")
    if state not in dict(STATE_TABS):
        state = DEFAULT_STATE
    cycles = OrderCycleFilter(
        {"status": state}, queryset=order_cycles_for_list(shop=shop), now=now
    ).qs
    counts = order_cycle_state_counts(shop=shop, now=now)
    table = configure(request, OrderCycleTable(cycles, shop=shop, now=now))
    return render_page(
        request,
        "manage/cycles/list.html",
        shop=shop,
        title=_("Order cycles"),
        area="order-cycles",
        table=table,
        tabs=[(key, label, counts[key]) for key, label in STATE_TABS],
        state=state,
        has_cycles=counts["current"] + counts["closed"] > 0,
    )


# --- Create and edit ---------------------------------------------------------------------------


def _initial(cycle: OrderCycle | None, shop: Enterprise) -> tuple[dict, list[dict]]:
    if cycle is None:
        return {}, []
    initial = {
        "name": cycle.name,
        "opens_at": _on_shop_clock(cycle.opens_at, shop),
        "closes_at": _on_shop_clock(cycle.closes_at, shop),
        "variant_ids": [v.pk for v in cycle.variants.all()],
    }
    fees = [{"name": f.name, "kind": f.kind, "amount": f.amount} for f in cycle.fees.all()]
    return initial, fees


FEE_PREFIX = "fees"


def _with_one_more_fee(data):
    data = data.copy()
    key = f"{FEE_PREFIX}-TOTAL_FORMS"
    try:
        data[key] = str(int(data.get(key, 0)) + 1)
    except ValueError:
        data[key] = "1"
    return data


def _save(shop: Enterprise, cycle: OrderCycle | None, form, fees) -> OrderCycle:
    values = {
        "name": form.cleaned_data["name"],
        "opens_at": form.cleaned_data["opens_at"],
        "closes_at": form.cleaned_data["closes_at"],
        "variant_ids": form.cleaned_data["variant_ids"],
        "fees": fees.rows(),
    }
    if cycle is None:
        return scheduling.order_cycle_create(shop=shop, **values)
    return scheduling.order_cycle_update(order_cycle=cycle, changes=values)


def _search(shop: Enterprise, q: str, *, exclude_ids) -> dict:
    """The picker's search results: up to VARIANT_SEARCH_LIMIT, and whether there are more."""
    found = sellable_variants_matching(
        shop=shop, q=q, exclude_ids=exclude_ids, limit=VARIANT_SEARCH_LIMIT + 1
    )
    return {
        "q": q,
        "results": found[:VARIANT_SEARCH_LIMIT],
        "more": len(found) > VARIANT_SEARCH_LIMIT,
    }


def _variant_picker(shop: Enterprise, cycle: OrderCycle | None, data, *, q: str = "") -> dict:
    """What the product picker shows: the ticked variants (as typed when the form comes back,
    else the cycle's) and the results of the search in the form (or `q`), if any."""
    if data is None:
        selected = list(cycle.variants.all()) if cycle else []
        selected_ids = [v.pk for v in selected]
        q = q.strip()
    else:
        selected_ids = posted_ids(data, "variant_ids")
        selected = variants_for_cycle_form(shop=shop, ids=selected_ids, order_cycle=cycle)
        q = data.get("q", "").strip()
    return {
        "shop": shop,
        "selected": selected,
        "selected_ids": set(selected_ids),
        "search_url": reverse("manage-order-cycle-variants", args=[shop.pk]),
        **_search(shop, q, exclude_ids=selected_ids),
    }


@manager_page
def order_cycle_form(request: HttpRequest, shop: Enterprise, pk: int | None = None):
    """Create (no `pk`) or edit a cycle. A GET with `search` (the picker's button, without
    JavaScript) shows the form again as typed, with the products found; "Add a fee" posts and
    shows it again with one more fee row. Neither saves."""
    cycle = None
    if pk is not None:
        cycle = order_cycle_for_edit(shop=shop, pk=pk)
        if cycle is None:
            raise Http404
    initial, initial_fees = _initial(cycle, shop)
    if request.method == "POST":
        data = request.POST
        if "add_fee" in data:
            data = _with_one_more_fee(data)
    else:
        data = None
    form = OrderCycleForm(data, initial=initial)
    fees = FeeFormSet(data, initial=initial_fees, prefix=FEE_PREFIX)
    fee_errors: list[str] = []
    # "Add a fee" and the picker's Search (without JavaScript) post the form to come back
    # with it as typed; only the save button saves. (A search by GET would put the form's
    # CSRF token in the address.)
    saving = request.method == "POST" and not {"add_fee", "search"} & set(request.POST)
    if saving and form.is_valid() and fees.is_valid():
        try:
            saved = _save(shop, cycle, form, fees)
        except ValidationFailed as error:
            fee_errors = error.errors.get("fees", [])
            others = {key: value for key, value in error.errors.items() if key != "fees"}
            if others:
                add_service_errors(form, ValidationFailed(others))
        else:
            if cycle is None:
                message = _("The order cycle “%(name)s” is created.")
            else:
                message = _("The order cycle “%(name)s” is saved.")
            messages.success(request, message % {"name": saved.name})
            return redirect("manage-order-cycles", shop_id=shop.pk)

    form.fields["variant_ids"].widget.picker = _variant_picker(
        shop, cycle, data, q=request.GET.get("q", "")
    )
    list_url = reverse("manage-order-cycles", args=[shop.pk])
    return render_page(
        request,
        "manage/cycles/form.html",
        shop=shop,
        title=cycle.name if cycle else _("New order cycle"),
        area="order-cycles",
        crumbs=[(_("Order cycles"), list_url)],
        form=form,
        fees=fees,
        fee_errors=fee_errors,
        cycle=cycle,
        state=state_label(cycle, timezone.now()) if cycle else None,
        action=request.path,
        list_url=list_url,
    )


@require_GET
@manager_page
def variant_search(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    """The picker's search (htmx): up to VARIANT_SEARCH_LIMIT variants the shop may sell
    matching `q`, leaving out the ticked ones (`variant_ids`). The answer is a fragment of
    the form; a visit without htmx goes to the new cycle's form, which searches too."""
    q = request.GET.get("q", "").strip()
    if not request.htmx:  # type: ignore[attr-defined]  # set by django-htmx
        return redirect(
            f"{reverse('manage-order-cycle-new', args=[shop.pk])}?{urlencode({'q': q})}"
        )
    found = _search(shop, q, exclude_ids=posted_ids(request.GET, "variant_ids"))
    return render(request, "manage/cycles/_variant_results.html", {"shop": shop, **found})


# --- Duplicate and delete ----------------------------------------------------------------------


@manager_page
def order_cycle_clone(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET: the copy's name and dates, a week later, to check; POST: create it."""
    cycle = order_cycle_for_edit(shop=shop, pk=pk)
    if cycle is None:
        raise Http404
    # A week later on the shop's clock, so 18:00 stays 18:00 across a daylight-saving change.
    initial = {
        "name": _("%(name)s (copy)") % {"name": cycle.name},
        "opens_at": _on_shop_clock(cycle.opens_at, shop) + CLONE_SHIFT,
        "closes_at": _on_shop_clock(cycle.closes_at, shop) + CLONE_SHIFT,
    }
    form = CloneForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            clone = scheduling.order_cycle_clone(order_cycle=cycle, **form.cleaned_data)
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("“%(name)s” is created with the products, fees and schedules of “%(from)s”.")
                % {"name": clone.name, "from": cycle.name},
            )
            return redirect("manage-order-cycles", shop_id=shop.pk)
    return render_page(
        request,
        "manage/cycles/clone.html",
        shop=shop,
        title=_("Duplicate “%(name)s”") % {"name": cycle.name},
        area="order-cycles",
        crumbs=[
            (_("Order cycles"), reverse("manage-order-cycles", args=[shop.pk])),
            (cycle.name, reverse("manage-order-cycle", args=[shop.pk, cycle.pk])),
        ],
        form=form,
        cycle=cycle,
    )


@manager_page
def order_cycle_delete(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET: confirm; POST: delete, or show why not (in a schedule, has orders)."""
    cycle = order_cycle_for_edit(shop=shop, pk=pk)
    if cycle is None:
        raise Http404
    return delete_page(
        request,
        lambda: scheduling.order_cycle_delete(order_cycle=cycle),
        done=_("The order cycle “%(name)s” is deleted.") % {"name": cycle.name},
        then=reverse("manage-order-cycles", args=[shop.pk]),
        template="manage/cycles/delete.html",
        shop=shop,
        title=_("Delete “%(name)s”") % {"name": cycle.name},
        area="order-cycles",
        crumbs=[
            (_("Order cycles"), reverse("manage-order-cycles", args=[shop.pk])),
            (cycle.name, reverse("manage-order-cycle", args=[shop.pk, cycle.pk])),
        ],
        cycle=cycle,
    )


urlpatterns = [
    path("order-cycles/", order_cycle_list, name="manage-order-cycles"),
    path("order-cycles/new/", order_cycle_form, name="manage-order-cycle-new"),
    path("order-cycles/variants/", variant_search, name="manage-order-cycle-variants"),
    path("order-cycles/<int:pk>/", order_cycle_form, name="manage-order-cycle"),
    path("order-cycles/<int:pk>/clone/", order_cycle_clone, name="manage-order-cycle-clone"),
    path("order-cycles/<int:pk>/delete/", order_cycle_delete, name="manage-order-cycle-delete"),
]
