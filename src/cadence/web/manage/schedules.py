"""The shop's schedules: named sets of order cycles that subscriptions follow. The list with
its figures, create and edit with a two-list picker of cycles, delete with the in-use guard.

Writes go through `cadence.subscriptions.services.scheduling`, which keeps the proxy orders
of the subscriptions on a schedule in step with its cycles.
"""

from __future__ import annotations

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from cadence.cycles import domain
from cadence.cycles.models import Schedule
from cadence.cycles.selectors import (
    order_cycle_ids_of_schedule,
    order_cycles_for_schedule_form,
    schedules_for_list,
    schedules_for_shop,
    shop_has_order_cycles,
)
from cadence.enterprises.models import Enterprise
from cadence.errors import ValidationFailed
from cadence.formatting import local_datetime
from cadence.subscriptions.services import scheduling
from cadence.web.manage.access import get_for_shop, manager_page
from cadence.web.manage.forms import (
    IdListField,
    PickerWidget,
    add_service_errors,
    delete_page,
    posted_ids,
)
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure


class CyclePicker(PickerWidget):
    template_name = "manage/schedules/_cycle_picker.html"


class ScheduleForm(forms.Form):
    # Optional here: the service requires the name, with its own message.
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        help_text=gettext_lazy("Buyers see it, e.g. “Weekly” or “Fortnightly”."),
    )
    order_cycle_ids = IdListField(
        label=gettext_lazy("Order cycles"),
        required=False,
        widget=CyclePicker,
        help_text=gettext_lazy(
            "Subscriptions on this schedule get an order in each of its cycles. Tick a cycle "
            "to add it, untick it to take it out."
        ),
    )


class ScheduleTable(ManageTable):
    name = tables.Column(verbose_name=gettext_lazy("Name"))
    cycle_count = tables.Column(verbose_name=gettext_lazy("Order cycles"))
    next_opens_at = tables.Column(
        verbose_name=gettext_lazy("Next cycle to open"), default=gettext_lazy("none planned")
    )
    subscription_count = tables.Column(verbose_name=gettext_lazy("Subscriptions"))
    actions = tables.Column(verbose_name=gettext_lazy("Actions"), accessor="pk", orderable=False)

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive schedules"}
        empty_text = gettext_lazy("No schedule yet.")

    def __init__(self, *args, shop: Enterprise, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop

    def render_name(self, record):
        url = reverse("manage-schedule", args=[self.shop.pk, record.pk])
        return format_html('<a href="{}">{}</a>', url, record.name)

    def render_next_opens_at(self, record):
        # Only called when there is a next cycle; the column's default says "none planned".
        opens = local_datetime(record.next_opens_at, self.shop.timezone)
        return format_html("{} · {}", record.next_cycle_name, opens)

    def order_next_opens_at(self, queryset, is_descending):
        # Schedules with nothing planned come last either way.
        moment = F("next_opens_at")
        order = moment.desc(nulls_last=True) if is_descending else moment.asc(nulls_last=True)
        return queryset.order_by(order, "name", "id"), True

    def render_actions(self, record):
        url = reverse("manage-schedule-delete", args=[self.shop.pk, record.pk])
        return format_html('<a href="{}">{}</a>', url, _("Delete"))


@require_GET
@manager_page
def schedule_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    table = configure(request, ScheduleTable(schedules_for_list(shop=shop), shop=shop))
    empty = table.paginator.count == 0
    return render_page(
        request,
        "manage/schedules/list.html",
        shop=shop,
        title=_("Schedules"),
        area="schedules",
        table=table,
        empty=empty,
        # Only the empty state asks: it sends a shop without cycles to create them first.
        has_cycles=shop_has_order_cycles(shop=shop) if empty else True,
    )


def _picker(shop: Enterprise, *, chosen_ids: list[int], known_ids: set[int]) -> dict:
    """The two lists: the ticked cycles, and the others that are open or upcoming. A closed
    cycle shows only if it is (or was, before this edit) in the schedule."""
    now = timezone.now()
    chosen = set(chosen_ids)
    cycles = order_cycles_for_schedule_form(shop=shop, selected_ids=chosen | known_ids, now=now)
    closed = set()
    for cycle in cycles:
        # Shown by the template next to each cycle.
        is_closed = domain.is_closed(closes_at=cycle.closes_at, now=now)
        cycle.is_closed = is_closed  # type: ignore[attr-defined]
        cycle.is_open = domain.is_open(  # type: ignore[attr-defined]
            opens_at=cycle.opens_at, closes_at=cycle.closes_at, now=now
        )
        if is_closed:
            closed.add(cycle.pk)
    # Closed cycles pile up in a long-lived schedule: they come folded, after the others.
    return {
        "shop": shop,
        "chosen": [c for c in cycles if c.pk in chosen and c.pk not in closed],
        "chosen_closed": [c for c in cycles if c.pk in chosen and c.pk in closed],
        "available": [c for c in cycles if c.pk not in chosen],
    }


@manager_page
def schedule_form(request: HttpRequest, shop: Enterprise, pk: int | None = None) -> HttpResponse:
    """Create (no `pk`) or edit a schedule: its name and its cycles."""
    schedule = None
    initial: dict = {"order_cycle_ids": []}
    if pk is not None:
        schedule = get_for_shop(schedules_for_shop(shop=shop), pk=pk, shop=shop)
        initial = {
            "name": schedule.name,
            "order_cycle_ids": order_cycle_ids_of_schedule(schedule=schedule),
        }
    posting = request.method == "POST"
    form = ScheduleForm(request.POST if posting else None, initial=initial)
    if posting and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            if schedule is None:
                saved = scheduling.schedule_create(shop=shop, **values)
                message = _("The schedule “%(name)s” is created.")
            else:
                saved = scheduling.schedule_update(schedule=schedule, changes=values)
                message = _("The schedule “%(name)s” is saved.")
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message % {"name": saved.name})
            return redirect("manage-schedules", shop_id=shop.pk)

    chosen_ids = (
        posted_ids(request.POST, "order_cycle_ids") if posting else initial["order_cycle_ids"]
    )
    form.fields["order_cycle_ids"].widget.picker = _picker(
        shop, chosen_ids=chosen_ids, known_ids=set(initial["order_cycle_ids"])
    )
    list_url = reverse("manage-schedules", args=[shop.pk])
    return render_page(
        request,
        "manage/schedules/form.html",
        shop=shop,
        title=schedule.name if schedule else _("New schedule"),
        area="schedules",
        crumbs=[(_("Schedules"), list_url)],
        form=form,
        schedule=schedule,
        list_url=list_url,
    )


@manager_page
def schedule_delete(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET: confirm; POST: delete, or say why not (subscriptions use it)."""
    schedule: Schedule = get_for_shop(schedules_for_shop(shop=shop), pk=pk, shop=shop)
    return delete_page(
        request,
        lambda: scheduling.schedule_delete(schedule=schedule),
        done=_("The schedule “%(name)s” is deleted.") % {"name": schedule.name},
        then=reverse("manage-schedules", args=[shop.pk]),
        template="manage/schedules/delete.html",
        shop=shop,
        title=_("Delete “%(name)s”") % {"name": schedule.name},
        area="schedules",
        crumbs=[
            (_("Schedules"), reverse("manage-schedules", args=[shop.pk])),
            (schedule.name, reverse("manage-schedule", args=[shop.pk, schedule.pk])),
        ],
        schedule=schedule,
    )


urlpatterns = [
    path("schedules/", schedule_list, name="manage-schedules"),
    path("schedules/new/", schedule_form, name="manage-schedule-new"),
    path("schedules/<int:pk>/", schedule_form, name="manage-schedule"),
    path("schedules/<int:pk>/delete/", schedule_delete, name="manage-schedule-delete"),
]
