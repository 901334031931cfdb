"""Creating and editing a subscription: one form in steps (details, addresses, products,
review), with the product and customer searches it uses.

The whole form is one page and one `<form>`: its steps are sections, each with a link in the
stepper. Buttons other than the save button (find a customer, add a customer, add or remove
a product) post the form to come back with it as typed, one step further; with JavaScript
they swap the form in place (htmx), and a change of customer, schedule, method or quantity
refreshes the addresses, the warnings and the estimates.

Writes go through `cadence.subscriptions.services.lifecycle` (the same services as the API),
whose `ValidationFailed` messages are shown on the fields they name; a new customer is added
through `cadence.customers.services`, as on the customers page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar, overload
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from cadence.catalog.models import Variant
from cadence.customers.domain import ADDRESS_FIELDS
from cadence.customers.models import Customer
from cadence.customers.selectors import customer_of_shop, customers_matching
from cadence.customers.services import customer_create
from cadence.cycles.selectors import (
    VARIANT_SEARCH_LIMIT,
    schedules_for_shop,
    sellable_variants_matching,
    shop_has_schedule,
    variant_ids_in_not_closed_cycles,
)
from cadence.enterprises.models import Enterprise, Language
from cadence.errors import Conflict, ValidationFailed
from cadence.formatting import money
from cadence.orders.selectors import shipping_methods_for_shop
from cadence.payments.models import PaymentMethodKind
from cadence.payments.selectors import payment_methods_for_shop
from cadence.subscriptions.models import Subscription
from cadence.subscriptions.selectors import (
    estimate_of_values,
    live_subscriptions_of_customer,
    order_update_issues_named,
    subscription_for_form,
    variants_for_subscription_form,
)
from cadence.subscriptions.services import lifecycle
from cadence.web.manage.access import manager_page
from cadence.web.manage.customers import AddressForm, ShipAddressForm
from cadence.web.manage.forms import WholeNumberField, add_service_errors, posted_ids
from cadence.web.manage.pages import render_page

AREA = "subscriptions"
# A shop may have ten thousand customers: the picker searches, and shows this many at most.
CUSTOMER_SEARCH_LIMIT = 20
MAX_QUANTITY = 9999
DEFAULT_COUNTRY = "FR"
DETAIL_KEYS = (
    "customer_id",
    "schedule_id",
    "payment_method_id",
    "shipping_method_id",
    "begins_at",
    "ends_at",
)
# The buttons that post the form to come back with it, rather than to save it.
STEP_BUTTONS = (
    "refresh",
    "find_customer",
    "add_customer",
    "search",
    "add_variant",
    "remove_variant",
)


# --- Forms -------------------------------------------------------------------------------------

# Every field is optional here: whether it is required is the service's rule, so the message
# shown is the service's, the same as the API's.


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DetailsForm(forms.Form):
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    schedule_id = forms.TypedChoiceField(
        label=gettext_lazy("Schedule"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=gettext_lazy("Orders are placed in each order cycle of this schedule."),
    )
    shipping_method_id = forms.TypedChoiceField(
        label=gettext_lazy("Shipping method"), required=False, coerce=int, empty_value=None
    )
    payment_method_id = forms.TypedChoiceField(
        label=gettext_lazy("Payment method"), required=False, coerce=int, empty_value=None
    )
    begins_at = forms.DateField(
        label=gettext_lazy("Begins on"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("Orders are placed in order cycles closing from this day on."),
    )
    ends_at = forms.DateField(
        label=gettext_lazy("Ends on"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy(
            "Optional. No order is placed in order cycles closing on or after this day."
        ),
    )

    def __init__(self, *args, shop: Enterprise, subscription: Subscription | None, **kwargs):
        super().__init__(*args, **kwargs)
        if subscription is not None:
            # Fixed at creation: shown, never posted.
            del self.fields["customer_id"], self.fields["schedule_id"]
        else:
            choose = [("", _("Choose a schedule"))]
            self.fields["schedule_id"].choices = choose + [  # type: ignore[attr-defined]  # a ChoiceField
                (s.pk, s.name) for s in schedules_for_shop(shop=shop)
            ]
        current_shipping = subscription.shipping_method_id if subscription else None
        current_payment = subscription.payment_method_id if subscription else None
        self.fields["shipping_method_id"].choices = [("", _("Choose a shipping method"))] + [  # type: ignore[attr-defined]  # a ChoiceField
            (m.pk, _method_label(m, shop))
            for m in shipping_methods_for_shop(shop=shop)
            if m.active or m.pk == current_shipping
        ]
        self.fields["payment_method_id"].choices = [("", _("Choose a payment method"))] + [  # type: ignore[attr-defined]  # a ChoiceField
            (m.pk, _method_label(m, shop))
            for m in payment_methods_for_shop(shop=shop)
            if (
                m.active
                and m.kind in (PaymentMethodKind.MANUAL, PaymentMethodKind.STRIPE)
                or m.pk == current_payment
            )
        ]
        for name in ("schedule_id", "shipping_method_id", "payment_method_id"):
            if name in self.fields:
                self.fields[name].widget.attrs["data-refresh"] = "1"


def _method_label(method, shop: Enterprise) -> str:
    label = method.name
    fee = getattr(method, "fee", None)
    percent = getattr(method, "fee_percent", None)
    if fee:
        label += f" · {money(fee, shop.currency)}"
    if percent:
        label += f" · {percent.normalize():f} %"
    if not method.active:
        label += f" ({_('inactive')})"
    return label


class LongSelect(forms.Select):
    """A select of many options (every country) rendered in one template, rather than one
    template per option: the two address forms' countries are 500 options."""

    template_name = "manage/subscriptions/_form_select.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        chosen = set(context["widget"]["value"])
        context["widget"]["options_html"] = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        return context

    def optgroups(self, name, value, attrs=None):
        return []  # the options are rendered at once, in `get_context`


_F = TypeVar("_F", bound=forms.Form)


def _with_long_selects(form: _F) -> _F:
    field = form.fields["country"]
    field.widget = LongSelect(attrs=field.widget.attrs)
    field.widget.choices = field.choices  # type: ignore[attr-defined]  # a ChoiceField
    return form


class NewCustomerForm(forms.Form):
    """The small form that adds a customer without leaving the subscription's form."""

    email = forms.CharField(
        label=gettext_lazy("Email"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), required=False)


# --- What the form shows -----------------------------------------------------------------------


@dataclass
class Line:
    variant: Variant
    quantity_text: str
    quantity: int | None
    error: str | None
    offered: bool
    service_errors: list[str] = field(default_factory=list)

    @property
    def line_total(self):
        if self.quantity is None or self.quantity < 1:
            return None
        return self.variant.price * self.quantity


_QUANTITY = WholeNumberField(label=gettext_lazy("Quantity"), max_value=MAX_QUANTITY)


def _parse_quantity(text: str) -> tuple[int | None, str | None]:
    try:
        return _QUANTITY.clean(text), None
    except ValidationError as error:
        return None, error.messages[0]


def _posted_lines(data: QueryDict) -> list[tuple[int, str]]:
    """(variant id, quantity as typed) of the form's lines, in order, with the product added
    or removed by the button that posted it."""
    lines = [(vid, data.get(f"quantity-{vid}", "1").strip()) for vid in posted_ids(data, "lines")]
    removed = data.get("remove_variant")
    if removed:
        lines = [(vid, qty) for vid, qty in lines if str(vid) != removed]
    added = posted_ids(data, "add_variant")
    for vid in added:
        if vid not in {v for v, _q in lines}:
            lines.append((vid, "1"))
    return lines


@overload
def _local_date(moment: datetime, shop: Enterprise) -> date: ...
@overload
def _local_date(moment: None, shop: Enterprise) -> None: ...
@overload
def _local_date(moment: datetime | None, shop: Enterprise) -> date | None: ...
def _local_date(moment: datetime | None, shop: Enterprise) -> date | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(shop.timezone)).date()


def _address_initial(address: dict | None) -> dict:
    return dict(address) if address else {"country": DEFAULT_COUNTRY}


def _blank_address(data: QueryDict, prefix: str) -> bool:
    return not any(
        (data.get(f"{prefix}-{name}") or "").strip() for name in ADDRESS_FIELDS if name != "country"
    )


def _with_customer_addresses(data: QueryDict, customer: Customer) -> QueryDict:
    """`data` with the customer's addresses filled in, once per chosen customer: in the
    address inputs left blank, or in all of them when they were filled from the customer
    chosen before (`addresses_from`)."""
    before = data.get("addresses_from") or ""
    if before == str(customer.pk):
        return data
    data = data.copy()
    for prefix, address in (("bill", customer.bill_address), ("ship", customer.ship_address)):
        if address and (before or _blank_address(data, prefix)):
            for name in ADDRESS_FIELDS:
                data[f"{prefix}-{name}"] = address.get(name) or ""
            if prefix == "ship":
                data["ship-same_as_bill"] = "on" if address == customer.bill_address else ""
    data["addresses_from"] = str(customer.pk)
    return data


# --- The page ----------------------------------------------------------------------------------


class SubscriptionFormPage:
    """One request to the form: the forms, bound to the post (or to the subscription), and
    everything the page shows around them."""

    def __init__(self, request: HttpRequest, shop: Enterprise, subscription: Subscription | None):
        self.request, self.shop, self.subscription = request, shop, subscription
        self.now = timezone.now()
        self.top_errors: list[str] = []
        self.line_errors: list[str] = []
        self.customer_note = ""
        self.refused = False
        self.open_new_customer = False
        data = request.POST.copy() if request.method == "POST" else self._initial_data()
        self.new_customer = NewCustomerForm(data, prefix="new")
        if request.method == "POST" and "add_customer" in data:
            data = self._add_customer(data)
        self.customer = self._customer(data)
        if self.customer is not None and subscription is None:
            data = _with_customer_addresses(data, self.customer)
        self.data = data
        self.details = DetailsForm(data, shop=shop, subscription=subscription)
        self.bill = _with_long_selects(AddressForm(data, prefix="bill"))
        self.ship = _with_long_selects(ShipAddressForm(data, prefix="ship"))
        self.details_valid = self.details.is_valid()
        self.addresses_valid = all([self.bill.is_valid(), self.ship.is_valid()])
        self.lines = self._lines(data)

    # -- reading ----------------------------------------------------------------------------

    def _initial_data(self) -> QueryDict:
        """What a GET shows, as a post of it would look: the subscription's values, or for a
        new one the customer and the search in the address (links and searches without
        JavaScript land here)."""
        data = QueryDict(mutable=True)
        sub, shop = self.subscription, self.shop
        if sub is None:
            data["customer_id"] = self.request.GET.get("customer_id", "")
            data["schedule_id"] = self.request.GET.get("schedule_id", "")
            data["begins_at"] = _local_date(self.now, shop).isoformat()
            data["q"] = self.request.GET.get("q", "")
            data["customer_q"] = self.request.GET.get("customer_q", "")
            for prefix in ("bill", "ship"):
                data[f"{prefix}-country"] = DEFAULT_COUNTRY
            data["ship-same_as_bill"] = "on"
            return data
        data["shipping_method_id"] = str(sub.shipping_method_id)
        data["payment_method_id"] = str(sub.payment_method_id)
        data["begins_at"] = _local_date(sub.begins_at, shop).isoformat()
        ends = _local_date(sub.ends_at, shop)
        data["ends_at"] = ends.isoformat() if ends else ""
        for prefix, address in (("bill", sub.bill_address), ("ship", sub.ship_address)):
            for name, value in _address_initial(address).items():
                if name in ADDRESS_FIELDS:
                    data[f"{prefix}-{name}"] = value or ""
        data["ship-same_as_bill"] = "on" if sub.ship_address == sub.bill_address else ""
        for line in sub.line_items.all():
            data.appendlist("lines", str(line.variant_id))
            data[f"quantity-{line.variant_id}"] = str(line.quantity)
        return data

    def _customer(self, data: QueryDict) -> Customer | None:
        if self.subscription is not None:
            return self.subscription.customer
        try:
            pk = int(data.get("customer_id") or "")
        except ValueError:
            return None
        return customer_of_shop(shop=self.shop, customer_id=pk)

    def _lines(self, data: QueryDict) -> list[Line]:
        posted = _posted_lines(data)
        variants = variants_for_subscription_form(
            shop=self.shop, ids=[vid for vid, _q in posted], subscription=self.subscription
        )
        schedule = self.schedule_id
        offered = (
            variant_ids_in_not_closed_cycles(schedule=schedule, now=self.now) if schedule else None
        )
        lines = []
        for vid, text in posted:
            variant = variants.get(vid)
            if variant is None:
                continue
            quantity, error = _parse_quantity(text)
            lines.append(
                Line(
                    variant=variant,
                    quantity_text=text,
                    quantity=quantity,
                    error=error,
                    offered=offered is None or (vid in offered and not variant.is_deleted),
                )
            )
        return lines

    @property
    def schedule_id(self) -> int | None:
        if self.subscription is not None:
            return self.subscription.schedule_id
        return self.details.cleaned_data.get("schedule_id") if self.details_valid else None

    def _chosen(self, name: str, rows):
        if not self.details_valid:
            return None
        pk = self.details.cleaned_data.get(name)
        return next((row for row in rows if row.pk == pk), None)

    # -- the inline customer ----------------------------------------------------------------

    def _add_customer(self, data: QueryDict) -> QueryDict:
        """Add the customer of the small form and choose them; on a refusal, keep the small
        form open with the service's messages."""
        self.open_new_customer = True
        if not self.new_customer.is_valid():
            return data
        values = self.new_customer.cleaned_data
        language = self.shop.language if self.shop.language in Language.values else "en"
        try:
            customer = customer_create(shop=self.shop, language=language, **values)
        except ValidationFailed as error:
            add_service_errors(self.new_customer, error)
            return data
        data = data.copy()
        data["customer_id"] = str(customer.pk)
        for name in NewCustomerForm.base_fields:
            data[f"new-{name}"] = ""
        self.new_customer = NewCustomerForm(prefix="new")
        self.open_new_customer = False
        self.customer_note = _("%(email)s is added to the customer list and chosen.") % {
            "email": customer.email
        }
        return data

    # -- saving -----------------------------------------------------------------------------

    @property
    def saving(self) -> bool:
        return self.request.method == "POST" and not set(STEP_BUTTONS) & set(self.request.POST)

    def values(self) -> dict:
        """What the service takes, from the valid forms."""
        cleaned = self.details.cleaned_data
        bill = self.bill.address()
        if self.ship.cleaned_data.get("same_as_bill"):
            ship = dict(bill) if bill else None
        else:
            ship = self.ship.address()
        values = {
            "payment_method_id": cleaned.get("payment_method_id"),
            "shipping_method_id": cleaned.get("shipping_method_id"),
            "ends_at": _midnight(cleaned.get("ends_at")),
            "bill_address": bill,
            "ship_address": ship,
            "line_items": [
                {"variant_id": line.variant.pk, "quantity": line.quantity} for line in self.lines
            ],
        }
        begins = cleaned.get("begins_at")
        sub = self.subscription
        if sub is None:
            values["customer_id"] = cleaned.get("customer_id")
            values["schedule_id"] = cleaned.get("schedule_id")
            values["begins_at"] = _midnight(begins)
        else:
            # The dates are shown as days: an unchanged day keeps the stored moment.
            if begins != _local_date(sub.begins_at, self.shop):
                values["begins_at"] = _midnight(begins)
            if cleaned.get("ends_at") == _local_date(sub.ends_at, self.shop):
                values["ends_at"] = sub.ends_at
            if not values["line_items"]:
                # The API refuses an empty list of lines before the service sees it.
                raise ValidationFailed({"line_items": [_("Please add at least one product")]})
        return values

    def save(self):
        """Create or update; returns (subscription, issues) or None when refused (the
        messages are then on the fields)."""
        self.refused = True
        if not (self.details_valid and self.addresses_valid):
            return None
        if any(line.error for line in self.lines):
            return None
        try:
            values = self.values()
            if self.subscription is None:
                saved = lifecycle.subscription_create(
                    shop=self.shop, actor=self.request.user, **values
                )
                return saved, []
            return lifecycle.subscription_update(
                subscription=self.subscription, changes=values, actor=self.request.user
            )
        except ValidationFailed as error:
            self.show_service_errors(error)
        except Conflict as conflict:
            self.top_errors.append(str(conflict.detail))
        return None

    def show_service_errors(self, error: ValidationFailed) -> None:
        add_service_errors(
            self.details,
            ValidationFailed({k: v for k, v in error.errors.items() if k in DETAIL_KEYS}),
        )
        self.bill.add_service_messages(error.errors.get("bill_address", []))
        if not self.ship.cleaned_data.get("same_as_bill"):
            self.ship.add_service_messages(error.errors.get("ship_address", []))
        # A message naming a product goes on its line; the others above the lines.
        by_name = sorted(self.lines, key=lambda line: -len(line.variant.full_name))
        for message in error.errors.get("line_items", []):
            line = next((ln for ln in by_name if ln.variant.full_name in message), None)
            if line is None:
                self.line_errors.append(message)
            else:
                line.service_errors.append(message)
        known = {*DETAIL_KEYS, "bill_address", "ship_address", "line_items"}
        for key, messages_ in error.errors.items():
            if key not in known:
                self.top_errors.extend(messages_)

    # -- rendering --------------------------------------------------------------------------

    def context(self) -> dict:
        shop, sub = self.shop, self.subscription
        data = self.data
        shipping = self._chosen("shipping_method_id", shipping_methods_for_shop(shop=shop))
        payment = self._chosen("payment_method_id", payment_methods_for_shop(shop=shop))
        schedule_id = self.schedule_id
        schedule = (
            sub.schedule if sub else self._chosen("schedule_id", schedules_for_shop(shop=shop))
        )
        estimate = estimate_of_values(
            shop=shop,
            schedule_id=schedule_id,
            shipping_method=shipping,
            payment_method=payment,
            lines=[
                (line.variant, line.quantity)
                for line in self.lines
                if line.quantity is not None and line.quantity > 0
            ],
            now=self.now,
        )
        same_schedule = []
        if self.customer is not None and schedule_id:
            same_schedule = [
                (other, _subscription_url(shop, other))
                for other in live_subscriptions_of_customer(customer=self.customer, now=self.now)
                if other.schedule_id == schedule_id and (sub is None or other.pk != sub.pk)
            ]
        fee_rows: dict[str, Decimal] = {}
        for fee in estimate.fee_lines:
            fee_rows[fee.label] = fee_rows.get(fee.label, Decimal(0)) + fee.amount
        q = "" if data.get("add_variant") else (data.get("q") or "").strip()
        customer_q = (data.get("customer_q") or "").strip()
        chosen_before = data.get("customer_before") or ""
        if self.customer is not None and chosen_before != str(self.customer.pk):
            # A customer was just chosen (or added): the search that found them is done.
            customer_q = ""
        chosen_ids = [line.variant.pk for line in self.lines]
        return {
            "subscription": sub,
            "details": self.details,
            "new_customer": self.new_customer,
            "open_new_customer": self.open_new_customer or bool(self.new_customer.errors),
            "customer": self.customer,
            "customer_note": self.customer_note,
            "bill_form": self.bill,
            "ship_form": self.ship,
            "lines": self.lines,
            "line_errors": self.line_errors,
            "top_errors": self.top_errors,
            "refused": self.refused,
            "schedule": schedule,
            "shipping": shipping,
            "payment": payment,
            "estimate": estimate,
            "fee_rows": list(fee_rows.items()),
            "same_schedule": same_schedule,
            "addresses_from": data.get("addresses_from", ""),
            "cancel_url": _subscription_url(shop, sub) if sub else _list_url(shop),
            "action": self.request.path,
            "variant_search_url": reverse("manage-subscription-variants", args=[shop.pk]),
            "customer_search_url": reverse("manage-subscription-customers", args=[shop.pk]),
            **_variant_search(shop, q, exclude_ids=chosen_ids, schedule_id=schedule_id),
            **_customer_search(shop, customer_q, chosen=self.customer),
        }


def _midnight(day: date | None) -> datetime | None:
    """The start of `day`, naive: the service reads it on the shop's clock."""
    return None if day is None else datetime(day.year, day.month, day.day)


def _variant_search(shop: Enterprise, q: str, *, exclude_ids, schedule_id: int | None) -> dict:
    """The product search's results: up to VARIANT_SEARCH_LIMIT, whether there are more, and
    the ids of those the schedule's open or upcoming cycles offer."""
    found = sellable_variants_matching(
        shop=shop, q=q, exclude_ids=exclude_ids, limit=VARIANT_SEARCH_LIMIT + 1
    )
    offered = None
    if found and schedule_id:
        offered = variant_ids_in_not_closed_cycles(schedule=schedule_id)
    return {
        "q": q,
        "results": found[:VARIANT_SEARCH_LIMIT],
        "more": len(found) > VARIANT_SEARCH_LIMIT,
        "offered_ids": offered,
    }


def _customer_search(shop: Enterprise, q: str, *, chosen: Customer | None) -> dict:
    found = []
    if q:
        qs = customers_matching(shop=shop, q=q, leaving_out=chosen)
        found = list(qs[: CUSTOMER_SEARCH_LIMIT + 1])
    return {
        "customer_q": q,
        "customer_results": found[:CUSTOMER_SEARCH_LIMIT],
        "customer_more": len(found) > CUSTOMER_SEARCH_LIMIT,
    }


def _subscription_url(shop: Enterprise, subscription: Subscription) -> str:
    try:
        return reverse("manage-subscription", args=[shop.pk, subscription.pk])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/subscriptions/{subscription.pk}/"


def _list_url(shop: Enterprise) -> str:
    try:
        return reverse("manage-subscriptions", args=[shop.pk])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/subscriptions/"


@manager_page
@require_http_methods(["GET", "POST"])
def subscription_form(
    request: HttpRequest, shop: Enterprise, subscription_id: int | None = None
) -> HttpResponse:
    """Create (no `subscription_id`) or edit a subscription. Only the save button saves; the
    other buttons show the form again as typed, one step further."""
    subscription = None
    if subscription_id is not None:
        subscription = subscription_for_form(shop=shop, subscription_id=subscription_id)
        if subscription is None:
            raise Http404
    page = SubscriptionFormPage(request, shop, subscription)
    if page.saving:
        result = page.save()
        if result is not None:
            saved, issues = result
            _tell_saved(request, subscription, saved, issues)
            return redirect(_subscription_url(shop, saved))
    crumbs = [(_("Subscriptions"), _list_url(shop))]
    if subscription is None:
        title = _("New subscription")
    else:
        name = subscription.customer.full_name or subscription.customer.email
        crumbs.append((name, _subscription_url(shop, subscription)))
        title = _("Edit the subscription")
    return render_page(
        request,
        "manage/subscriptions/form.html",
        shop=shop,
        title=title,
        area=AREA,
        crumbs=crumbs,
        **page.context(),
    )


def _tell_saved(request, before: Subscription | None, saved: Subscription, issues) -> None:
    customer = saved.customer.full_name or saved.customer.email
    if before is None:
        messages.success(
            request, _("The subscription of %(customer)s is created.") % {"customer": customer}
        )
        return
    messages.success(
        request, _("The subscription of %(customer)s is saved.") % {"customer": customer}
    )
    if issues:
        messages.warning(
            request,
            _(
                "Some orders already placed could not be changed to match; change them by "
                "hand if needed:"
            ),
        )
        for issue in order_update_issues_named(issues):
            messages.warning(
                request,
                _("Order %(number)s (%(cycle)s): %(issue)s")
                % {
                    "number": issue["number"],
                    "cycle": issue["cycle_name"],
                    "issue": issue["issue"],
                },
            )


# --- The searches (htmx) -----------------------------------------------------------------------


def _no_htmx(request: HttpRequest, shop: Enterprise, params: dict) -> HttpResponse:
    """A search visited without htmx goes to the new subscription's form, which searches."""
    url = reverse("manage-subscription-new", args=[shop.pk])
    return redirect(f"{url}?{urlencode(params)}")


@require_GET
@manager_page
def variant_search(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    """Up to VARIANT_SEARCH_LIMIT variants the shop may sell matching `q` (name or SKU),
    leaving out the form's lines (`lines`), each with a warning when `schedule_id`'s open and
    upcoming cycles do not offer it."""
    q = request.GET.get("q", "").strip()
    if not request.htmx:  # type: ignore[attr-defined]  # set by django-htmx
        return _no_htmx(request, shop, {"q": q})
    try:
        schedule_id = int(request.GET.get("schedule_id") or "")
    except ValueError:
        schedule_id = None
    if schedule_id is not None and not shop_has_schedule(shop=shop, schedule_id=schedule_id):
        schedule_id = None
    found = _variant_search(
        shop, q, exclude_ids=posted_ids(request.GET, "lines"), schedule_id=schedule_id
    )
    return render(
        request, "manage/subscriptions/_form_variant_results.html", {"shop": shop, **found}
    )


@require_GET
@manager_page
def customer_search(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    """Up to CUSTOMER_SEARCH_LIMIT of the shop's customers matching `customer_q` (email, name
    or code), as choices of the form's customer."""
    q = request.GET.get("customer_q", "").strip()
    if not request.htmx:  # type: ignore[attr-defined]  # set by django-htmx
        return _no_htmx(request, shop, {"customer_q": q})
    found = _customer_search(shop, q, chosen=None)
    return render(
        request, "manage/subscriptions/_form_customer_results.html", {"shop": shop, **found}
    )


urlpatterns = [
    path("subscriptions/new/", subscription_form, name="manage-subscription-new"),
    path(
        "subscriptions/<int:subscription_id>/edit/",
        subscription_form,
        name="manage-subscription-edit",
    ),
    path("subscriptions/form/variants/", variant_search, name="manage-subscription-variants"),
    path("subscriptions/form/customers/", customer_search, name="manage-subscription-customers"),
]
