"""The shop's customer list: find, sort and page through it, add a buyer, change one (with
their bill and ship addresses), remove one that no subscription holds any more.

Writes go through `cadence.customers.services`, which owns every rule (email format and
uniqueness, lengths, address completeness); the forms here only parse the request.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import django_filters
import django_tables2 as tables
from babel import Locale
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from cadence import formatting
from cadence.customers.domain import ADDRESS_FIELDS
from cadence.customers.models import Customer
from cadence.customers.selectors import customers_for_shop
from cadence.customers.services import customer_create, customer_delete, customer_update
from cadence.enterprises.models import Enterprise, Language
from cadence.errors import ValidationFailed
from cadence.subscriptions.domain import Status
from cadence.subscriptions.selectors import live_subscriptions_of_customer, subscription_status
from cadence.web.manage.access import get_for_shop, manager_page
from cadence.web.manage.forms import add_service_errors, delete_page
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

AREA = "customers"
ADDRESS_KEYS = ("bill_address", "ship_address")
DEFAULT_COUNTRY = "FR"
# CLDR territories with a two-letter code that are not countries a parcel can go to.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})

# The statuses of the subscriptions that block a removal (the only ones listed here), with
# the words the buyer's pages use.
STATUS_LABELS = {
    Status.ACTIVE: gettext_lazy("Active"),
    Status.PENDING: gettext_lazy("Not started yet"),
    Status.PAUSED: gettext_lazy("Paused"),
}


# --- the list ------------------------------------------------------------------------------


class CustomerFilter(django_filters.FilterSet):
    """The list's query string: `q` searches through the customers selector, so the page
    finds what the API's `?q=` finds."""

    q = django_filters.CharFilter(
        label=gettext_lazy("Find a customer"),
        method="search",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, data, *, shop: Enterprise):
        self.shop = shop
        super().__init__(data, queryset=customers_for_shop(shop=shop))

    def search(self, queryset, name, value):
        return customers_for_shop(shop=self.shop, q=value)


class CustomerTable(ManageTable):
    email = tables.Column(
        verbose_name=gettext_lazy("Email"),
        linkify=(
            "manage-customer-edit",
            {"shop_id": tables.A("shop_id"), "pk": tables.A("pk")},
        ),
        order_by=("email", "id"),
    )
    name = tables.Column(
        verbose_name=gettext_lazy("Name"),
        accessor="full_name",
        order_by=("last_name", "first_name", "id"),
    )
    code = tables.Column(verbose_name=gettext_lazy("Code"), order_by=("code", "id"))
    phone = tables.Column(verbose_name=gettext_lazy("Phone"), orderable=False)
    city = tables.Column(verbose_name=gettext_lazy("City"), empty_values=(), orderable=False)
    created_at = tables.Column(verbose_name=gettext_lazy("Added on"), order_by=("created_at", "id"))

    # django-tables2 reads `Meta` from the class body only, so the base's is extended here.
    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive customers"}

    def __init__(self, *args, shop: Enterprise, **kwargs):
        self.shop = shop
        super().__init__(*args, **kwargs)

    def render_city(self, record: Customer) -> str:
        # Where the shop delivers matters most; the bill address stands in when there is none.
        address = record.ship_address or record.bill_address or {}
        return address.get("city") or self.default

    def render_created_at(self, value) -> str:
        return formatting.local_date(value, self.shop.timezone)


@manager_page
@require_GET
def customer_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    filters = CustomerFilter(request.GET, shop=shop)
    q = filters.form.cleaned_data.get("q", "") if filters.is_valid() else ""
    table = CustomerTable(filters.qs, shop=shop)
    if q:
        table.empty_text = _(
            "No customer matches “%(q)s”. Check the spelling, or search by email, name or code."
        ) % {"q": q}
    else:
        table.empty_text = _(
            "No customers yet. Add the buyers who will subscribe: their email is enough to start."
        )
    configure(request, table)
    return render_page(
        request,
        "manage/customers/list.html",
        shop=shop,
        title=_("Customers"),
        area=AREA,
        table=table,
        filter=filters,
        q=q,
        sort=request.GET.get("sort", ""),
    )


# --- the form ------------------------------------------------------------------------------


def _sort_key(name: str) -> str:
    """Sort names the way a reader expects: accents do not push `Égypte` after `Zambie`."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


@lru_cache(maxsize=8)
def _countries_in(language: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(language).territories
    codes = (
        c
        for c in names
        if isinstance(c, str) and len(c) == 2 and c.isalpha() and c not in NOT_COUNTRIES
    )
    return tuple(sorted(((c, names[c]) for c in codes), key=lambda item: _sort_key(item[1])))


def country_choices() -> tuple[tuple[str, str], ...]:
    """Every country, named and sorted in the page's language."""
    return _countries_in(formatting.reader_language())


class AddressForm(forms.Form):
    """One address. Every input is optional here: left all blank it means "no address",
    and the service says what a partly filled one lacks."""

    first_name = forms.CharField(label=gettext_lazy("First name"), required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), required=False)
    address1 = forms.CharField(label=gettext_lazy("Street address"), required=False)
    address2 = forms.CharField(
        label=gettext_lazy("Address line 2"),
        required=False,
        help_text=gettext_lazy("Building, floor, door code… (optional)"),
    )
    postcode = forms.CharField(label=gettext_lazy("Postcode"), required=False)
    city = forms.CharField(label=gettext_lazy("City"), required=False)
    country = forms.ChoiceField(label=gettext_lazy("Country"), choices=country_choices)
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A country the list does not name (saved through the API) stays selectable, so the
        # customer can be saved again without touching the address.
        current = (self.initial.get("country") or "").upper()
        if current and current not in dict(country_choices()):
            self.fields["country"].choices = [*country_choices(), (current, current)]

    def address(self) -> dict | None:
        """The address as the service takes it; None when nothing but the country is filled
        (the country always has a value, being a list)."""
        values = {name: self.cleaned_data.get(name) or "" for name in ADDRESS_FIELDS}
        if not any(value for name, value in values.items() if name != "country"):
            return None
        return values

    def add_service_messages(self, messages_: list[str]) -> None:
        """Put the service's messages on the inputs they name. The address rules start each
        message with the sub-field's key ("city can't be blank"); the input's label already
        says which one, so the key is dropped. Anything else goes above the address."""
        for message in messages_:
            key, _space, rest = message.partition(" ")
            if key in self.fields and rest:
                self.add_error(key, rest)
            else:
                self.add_error(None, message)


class ShipAddressForm(AddressForm):
    same_as_bill = forms.BooleanField(
        label=gettext_lazy("Same as the bill address"), required=False
    )

    field_order = ["same_as_bill", *AddressForm.base_fields]


class CustomerForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Email"),
        help_text=gettext_lazy(
            "The buyer's email: it links the customer to their account when they have one."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), required=False)
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Code"),
        required=False,
        help_text=gettext_lazy("Your own reference for this customer, e.g. a member number."),
    )
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        required=False,
        help_text=gettext_lazy("Words to group customers, separated by commas."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of their emails"), choices=Language.choices
    )


def _customer_forms(request: HttpRequest, *, customer: Customer | None, shop: Enterprise):
    data = request.POST if request.method == "POST" else None
    if customer is None:
        initial = {"language": shop.language if shop.language in Language.values else "en"}
        bill_initial = {"country": DEFAULT_COUNTRY}
        ship_initial = {"country": DEFAULT_COUNTRY, "same_as_bill": True}
    else:
        initial = {name: getattr(customer, name) for name in CustomerForm.base_fields}
        bill_initial = customer.bill_address or {"country": DEFAULT_COUNTRY}
        same = customer.ship_address == customer.bill_address
        ship_initial = {
            **(customer.ship_address or {"country": DEFAULT_COUNTRY}),
            "same_as_bill": same,
        }
    return (
        CustomerForm(data, initial=initial),
        AddressForm(data, initial=bill_initial, prefix="bill"),
        ShipAddressForm(data, initial=ship_initial, prefix="ship"),
    )


def _values(form: CustomerForm, bill: AddressForm, ship: ShipAddressForm) -> dict:
    """What the service takes, from valid forms; the ship address is a copy of the bill
    address when the box says so."""
    bill_address = bill.address()
    same = ship.cleaned_data["same_as_bill"]
    return {
        **form.cleaned_data,
        "bill_address": bill_address,
        "ship_address": (dict(bill_address) if bill_address else None) if same else ship.address(),
    }


def _show_service_errors(
    error: ValidationFailed, form: CustomerForm, bill: AddressForm, ship: ShipAddressForm
) -> None:
    add_service_errors(
        form, ValidationFailed({k: v for k, v in error.errors.items() if k not in ADDRESS_KEYS})
    )
    bill.add_service_messages(error.errors.get("bill_address", []))
    # A copied address has the bill address's problems, already shown there.
    if not ship.cleaned_data.get("same_as_bill"):
        ship.add_service_messages(error.errors.get("ship_address", []))


def _render_form(request, shop, *, title, crumbs, forms_, customer=None, submit):
    form, bill, ship = forms_
    return render_page(
        request,
        "manage/customers/form.html",
        shop=shop,
        title=title,
        area=AREA,
        crumbs=crumbs,
        form=form,
        bill_form=bill,
        ship_form=ship,
        customer=customer,
        submit=submit,
    )


def _list_crumb(shop: Enterprise) -> tuple[str, str]:
    return (_("Customers"), reverse("manage-customers", args=[shop.pk]))


def _customer_of(shop: Enterprise, pk: int) -> Customer:
    return get_for_shop(customers_for_shop(shop=shop), pk=pk, shop=shop)


@manager_page
@require_http_methods(["GET", "POST"])
def customer_form(request: HttpRequest, shop: Enterprise, pk: int | None = None) -> HttpResponse:
    """Add (no `pk`) or change a customer."""
    customer = None if pk is None else _customer_of(shop, pk)
    forms_ = _customer_forms(request, customer=customer, shop=shop)
    # Every form is validated (no short circuit) so that all parse errors show at once.
    if request.method == "POST" and all([f.is_valid() for f in forms_]):
        try:
            if customer is None:
                saved = customer_create(shop=shop, **_values(*forms_))
                done = _("%(email)s is on the customer list.")
            else:
                saved = customer
                customer_update(customer=customer, changes=_values(*forms_))
                done = _("The changes to %(email)s are saved.")
        except ValidationFailed as error:
            _show_service_errors(error, *forms_)
        else:
            messages.success(request, done % {"email": saved.email})
            return redirect("manage-customers", shop_id=shop.pk)
    return _render_form(
        request,
        shop,
        title=_("Add a customer") if customer is None else customer.full_name or customer.email,
        crumbs=[_list_crumb(shop)],
        forms_=forms_,
        customer=customer,
        submit=_("Add the customer") if customer is None else _("Save changes"),
    )


# --- removal -------------------------------------------------------------------------------


@manager_page
@require_http_methods(["GET", "POST"])
def customer_remove(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET asks for confirmation (or says what stops the removal); POST removes."""
    customer = _customer_of(shop, pk)
    now = timezone.now()
    # What stops the removal: shown when asking, and when the service refuses.
    live = [
        (subscription, STATUS_LABELS[subscription_status(subscription, now=now)])
        for subscription in live_subscriptions_of_customer(customer=customer, now=now)
    ]
    return delete_page(
        request,
        lambda: customer_delete(customer=customer),
        done=_("%(email)s is no longer on the customer list.") % {"email": customer.email},
        then=reverse("manage-customers", args=[shop.pk]),
        template="manage/customers/delete.html",
        shop=shop,
        title=_("Remove a customer"),
        area=AREA,
        crumbs=[
            _list_crumb(shop),
            (
                customer.full_name or customer.email,
                reverse("manage-customer-edit", args=[shop.pk, customer.pk]),
            ),
        ],
        customer=customer,
        live=live,
    )


urlpatterns = [
    path("customers/", customer_list, name="manage-customers"),
    path("customers/new/", customer_form, name="manage-customer-add"),
    path("customers/<int:pk>/", customer_form, name="manage-customer-edit"),
    path("customers/<int:pk>/delete/", customer_remove, name="manage-customer-delete"),
]
