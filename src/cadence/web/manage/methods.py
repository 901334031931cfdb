"""The shop's payment and shipping methods: list, add, edit, deactivate and reactivate.

Methods are never deleted here: past orders and subscriptions point to them, so a method the
shop no longer offers is deactivated and stays listed, marked inactive. The rules (blank name,
negative fee, percentage over 100, Stripe account id) are the services', shared with the API.

Both kinds of method have the same pages; what differs (forms, services, words) is gathered
in one `MethodPages` per kind, which the views take from their URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from cadence import formatting
from cadence.enterprises.models import Enterprise
from cadence.errors import ValidationFailed
from cadence.orders.models import ShippingMethod
from cadence.orders.selectors import shipping_methods_for_shop
from cadence.orders.services import shipping_method_create, shipping_method_update
from cadence.payments.models import PaymentMethod, PaymentMethodKind
from cadence.payments.selectors import payment_methods_for_shop
from cadence.payments.services import payment_method_create, payment_method_update
from cadence.web.manage.access import get_for_shop, manager_page
from cadence.web.manage.forms import AmountField, add_service_errors
from cadence.web.manage.pages import Crumb, render_page
from cadence.web.manage.tables import ManageTable, configure

# --- Forms -------------------------------------------------------------------------------


def _fee_field(label: str | Promise) -> AmountField:
    """A fee in the shop's currency: left empty, none."""
    return AmountField(
        label=label, decimal_places=2, max_digits=12, shown_places=2, empty_value=Decimal(0)
    )


def _choice(title: str | Promise, explanation: str | Promise) -> str:
    """A radio button's label: what it is, then what it means, in lighter type."""
    return format_html(
        '<span class="choice-title">{}</span> <span class="help">{}</span>', title, explanation
    )


# Under each kind's radio button: what it does, and whether subscriptions can use it.
KIND_EXPLANATIONS: dict[str, Promise] = {
    PaymentMethodKind.MANUAL: gettext_lazy(
        "You collect the money by hand. Subscriptions can use it."
    ),
    PaymentMethodKind.STRIPE: gettext_lazy(
        "The buyer's saved card is charged automatically when the order cycle closes. "
        "Subscriptions can use it."
    ),
    PaymentMethodKind.OTHER: gettext_lazy(
        "For orders outside subscriptions: subscriptions cannot use it."
    ),
}


class PaymentMethodForm(forms.Form):
    """Adding a payment method. Fields the service checks have no limits here, so that their
    message is the service's (name, kind, fees, account id); lengths are checked here because
    the service leaves them to the columns."""

    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("As buyers see it, e.g. “Cheque at pick-up” or “Card”."),
    )
    kind = forms.CharField(
        label=gettext_lazy("Kind"),
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choices"}),
        help_text=gettext_lazy(
            "Only manual and Stripe methods can be used by subscriptions. The kind cannot be "
            "changed once the method is added."
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Shown to buyers when they choose how to pay, e.g. who cheques are made out to."
        ),
    )
    fee = _fee_field(gettext_lazy("Fixed fee"))
    fee_percent = AmountField(
        label=gettext_lazy("Percentage fee"), decimal_places=3, empty_value=Decimal(0)
    )
    stripe_account = forms.CharField(
        label=gettext_lazy("Stripe connected account"),
        required=False,
        max_length=100,
        help_text=gettext_lazy(
            "For a Stripe method only, and optional: the id of the shop's own Stripe account "
            "connected to this platform, starting with acct_. Leave empty to charge through "
            "the platform's account."
        ),
    )

    def __init__(self, *args, currency: str, method: PaymentMethod | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if method is None:
            self.fields["kind"].widget.choices = [
                (value, _choice(label, KIND_EXPLANATIONS[value]))
                for value, label in PaymentMethodKind.choices
            ]
        else:
            # The kind is fixed once added (as in the API: a subscription's method must keep
            # meaning what it meant when chosen), and only a Stripe method has an account.
            del self.fields["kind"]
            if method.kind != PaymentMethodKind.STRIPE:
                del self.fields["stripe_account"]
        self.fields["fee"].help_text = _(
            "Added to each order paid this way, e.g. %(example)s. Leave empty for none."
        ) % {"example": formatting.money(Decimal("0.50"), currency)}
        self.fields["fee_percent"].help_text = _(
            "A percentage of the products' total, added to each order paid this way: e.g. "
            "%(example)s. Leave empty for none."
        ) % {"example": formatting.number(Decimal("1.5"))}


class ShippingMethodForm(forms.Form):
    """Adding or editing a shipping method (the service checks the name and the fee)."""

    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("As buyers see it, e.g. “Home delivery” or “Pick-up at the farm”."),
    )
    requires_address = forms.TypedChoiceField(
        label=gettext_lazy("Delivery or pick-up"),
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect(attrs={"class": "choices"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Shown to buyers when they choose, e.g. the delivery days or the pick-up place "
            "and hours."
        ),
    )
    fee = _fee_field(gettext_lazy("Fee"))

    def __init__(self, *args, currency: str, method: ShippingMethod | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requires_address"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (
                "true",
                _choice(
                    _("Delivery"),
                    _("The order goes to the buyer's address, which is then required."),
                ),
            ),
            ("false", _choice(_("Pick-up"), _("The buyer collects the order: no address needed."))),
        ]
        self.fields["fee"].help_text = _(
            "Added to each order sent this way, e.g. %(example)s. Leave empty for none."
        ) % {"example": formatting.money(Decimal("3.50"), currency)}


def _shipping_initial(method: ShippingMethod | None) -> dict:
    if method is None:
        return {"requires_address": "true"}
    return {
        "name": method.name,
        "requires_address": "true" if method.requires_address else "false",
        "description": method.description,
        "fee": method.fee,
    }


def _payment_initial(method: PaymentMethod | None) -> dict:
    if method is None:
        return {"kind": PaymentMethodKind.MANUAL}
    return {
        "name": method.name,
        "description": method.description,
        "fee": method.fee,
        "fee_percent": method.fee_percent,
        "stripe_account": method.stripe_account,
    }


# --- Tables ------------------------------------------------------------------------------


def _row_state(record) -> str:
    return "active" if record.active else "inactive"


class _MethodTable(ManageTable):
    """What both lists share: the name links to the edit page, the fee reads in the shop's
    currency, and each row offers to deactivate or reactivate the method."""

    edit_url = ""
    active_url = ""

    name = tables.Column(verbose_name=gettext_lazy("Name"))
    fee = tables.Column(verbose_name=gettext_lazy("Fixed fee"))
    active = tables.Column(verbose_name=gettext_lazy("Status"))
    change = tables.Column(verbose_name=gettext_lazy("Actions"), accessor="pk", orderable=False)

    class Meta(ManageTable.Meta):
        attrs = {"class": "responsive methods"}
        row_attrs = {"data-state": _row_state}

    def __init__(self, data, *, currency: str, **kwargs) -> None:
        self.currency = currency
        super().__init__(data, **kwargs)

    def render_name(self, record, value) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse(self.edit_url, args=[record.shop_id, record.pk]), value
        )

    def render_fee(self, value) -> str:
        return formatting.money(value, self.currency)

    def render_active(self, value) -> str:
        if value:
            return format_html('<span class="status status-active">{}</span>', _("Active"))
        return format_html('<span class="status status-inactive">{}</span>', _("Inactive"))

    def render_change(self, record) -> str:
        url = reverse(self.active_url, args=[record.shop_id, record.pk])
        label = _("Deactivate") if record.active else _("Reactivate")
        return format_html(
            '<a href="{}">{}<span class="visually-hidden"> {}</span></a>', url, label, record.name
        )


class PaymentMethodTable(_MethodTable):
    edit_url = "manage-payment-method"
    active_url = "manage-payment-method-active"

    kind = tables.Column(verbose_name=gettext_lazy("Kind"))
    fee_percent = tables.Column(verbose_name=gettext_lazy("Percentage fee"))

    class Meta(_MethodTable.Meta):
        sequence = ("name", "kind", "fee", "fee_percent", "active", "change")
        empty_text = gettext_lazy(
            "No payment method yet: add one so subscriptions can be paid (manual or Stripe)."
        )

    def render_fee_percent(self, value) -> str:
        return _("%(percent)s%%") % {"percent": formatting.number(value)}


class ShippingMethodTable(_MethodTable):
    edit_url = "manage-shipping-method"
    active_url = "manage-shipping-method-active"

    requires_address = tables.Column(verbose_name=gettext_lazy("Delivery or pick-up"))
    fee = tables.Column(verbose_name=gettext_lazy("Fee"))

    class Meta(_MethodTable.Meta):
        sequence = ("name", "requires_address", "fee", "active", "change")
        empty_text = gettext_lazy(
            "No shipping method yet: add one (delivery or pick-up) so subscriptions can be "
            "delivered."
        )

    def render_requires_address(self, value) -> str:
        return _("Delivery") if value else _("Pick-up")


# --- What differs between the two kinds --------------------------------------------------

Method = PaymentMethod | ShippingMethod


# What reactivating a method does, of either kind.
REACTIVATED = gettext_lazy(
    "It can be chosen again, and subscriptions that use it get orders again from the next "
    "order cycle that opens."
)


def _payment_consequence(method: PaymentMethod) -> str:
    if method.active and method.kind == PaymentMethodKind.OTHER:
        return _("It can no longer be chosen. You can reactivate it at any time.")
    if method.active:
        return _(
            "New subscriptions can no longer choose it. Subscriptions that use it get no new "
            "orders until you give them another payment method; orders already placed go on "
            "as planned. You can reactivate it at any time."
        )
    return str(REACTIVATED)


def _shipping_consequence(method: ShippingMethod) -> str:
    if method.active:
        return _(
            "New subscriptions can no longer choose it. Subscriptions that use it get no new "
            "orders until you give them another shipping method; orders already placed go on "
            "as planned. You can reactivate it at any time."
        )
    return str(REACTIVATED)


@dataclass(frozen=True)
class MethodPages:
    """One kind of method's pages: its URL names (`<url>s` the list, `<url>-new`, `<url>`
    the edit page, `<url>-active`), selector, services, form, table and words."""

    area: str
    url: str
    methods: Callable[..., QuerySet]
    create: Callable[..., PaymentMethod | ShippingMethod]
    update: Callable[[Any, dict], object]
    form: Callable[..., forms.Form]
    initial: Callable[[Any], dict]
    table: type[_MethodTable]
    consequence: Callable[[Any], str]
    title: Promise
    intro: Promise
    add_label: Promise
    new_title: Promise
    submit_new: Promise
    added: Promise
    saved: Promise
    reactivated: Promise
    deactivated: Promise

    def crumbs(self, shop: Enterprise) -> list[Crumb]:
        return [(self.title, reverse(f"{self.url}s", args=[shop.pk]))]

    def method(self, shop: Enterprise, pk: int) -> Method:
        return get_for_shop(self.methods(shop=shop), pk=pk, shop=shop)


PAYMENT = MethodPages(
    area="payment-methods",
    url="manage-payment-method",
    methods=payment_methods_for_shop,
    create=payment_method_create,
    update=lambda method, changes: payment_method_update(payment_method=method, changes=changes),
    form=PaymentMethodForm,
    initial=_payment_initial,
    table=PaymentMethodTable,
    consequence=_payment_consequence,
    title=gettext_lazy("Payment methods"),
    intro=gettext_lazy(
        "How buyers pay. Subscriptions can use manual methods (cash, cheque or bank "
        "transfer, collected by hand) and Stripe (the buyer's card is charged "
        "automatically)."
    ),
    add_label=gettext_lazy("Add a payment method"),
    new_title=gettext_lazy("New payment method"),
    submit_new=gettext_lazy("Add the payment method"),
    added=gettext_lazy("The payment method “%(name)s” is added."),
    saved=gettext_lazy("The payment method “%(name)s” is saved."),
    reactivated=gettext_lazy("The payment method “%(name)s” is active again."),
    deactivated=gettext_lazy("The payment method “%(name)s” is deactivated."),
)

SHIPPING = MethodPages(
    area="shipping-methods",
    url="manage-shipping-method",
    methods=shipping_methods_for_shop,
    create=shipping_method_create,
    update=lambda method, changes: shipping_method_update(shipping_method=method, changes=changes),
    form=ShippingMethodForm,
    initial=_shipping_initial,
    table=ShippingMethodTable,
    consequence=_shipping_consequence,
    title=gettext_lazy("Shipping methods"),
    intro=gettext_lazy(
        "How orders reach buyers: delivered to their address, or picked up. Subscriptions "
        "can use any active shipping method."
    ),
    add_label=gettext_lazy("Add a shipping method"),
    new_title=gettext_lazy("New shipping method"),
    submit_new=gettext_lazy("Add the shipping method"),
    added=gettext_lazy("The shipping method “%(name)s” is added."),
    saved=gettext_lazy("The shipping method “%(name)s” is saved."),
    reactivated=gettext_lazy("The shipping method “%(name)s” is active again."),
    deactivated=gettext_lazy("The shipping method “%(name)s” is deactivated."),
)


# --- The pages ---------------------------------------------------------------------------


@manager_page
@require_GET
def method_list(request: HttpRequest, shop: Enterprise, *, pages: MethodPages) -> HttpResponse:
    table = configure(
        request, pages.table(pages.methods(shop=shop), currency=shop.currency, order_by="name")
    )
    return render_page(
        request,
        "manage/methods/list.html",
        shop=shop,
        title=pages.title,
        area=pages.area,
        table=table,
        intro=pages.intro,
        add_url=reverse(f"{pages.url}-new", args=[shop.pk]),
        add_label=pages.add_label,
    )


@manager_page
def method_form(
    request: HttpRequest, shop: Enterprise, pk: int | None = None, *, pages: MethodPages
) -> HttpResponse:
    """Add (no `pk`) or edit a method."""
    method = None if pk is None else pages.method(shop, pk)
    form = pages.form(
        request.POST if request.method == "POST" else None,
        initial=pages.initial(method),
        currency=shop.currency,
        method=method,
    )
    if request.method == "POST" and form.is_valid():
        try:
            if method is None:
                saved = pages.create(shop=shop, **form.cleaned_data)
            else:
                pages.update(method, dict(form.cleaned_data))
                saved = method
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            done = pages.added if method is None else pages.saved
            messages.success(request, done % {"name": saved.name})
            return redirect(f"{pages.url}s", shop_id=shop.pk)
    context: dict[str, Any] = {"submit_label": pages.submit_new}
    if method is not None:
        context = {
            "method": method,
            "kind_label": (
                method.get_kind_display() if isinstance(method, PaymentMethod) else None
            ),
            "submit_label": _("Save"),
            "active_url": reverse(f"{pages.url}-active", args=[shop.pk, method.pk]),
        }
    return render_page(
        request,
        "manage/methods/form.html",
        shop=shop,
        title=pages.new_title if method is None else method.name,
        area=pages.area,
        crumbs=pages.crumbs(shop),
        form=form,
        list_url=reverse(f"{pages.url}s", args=[shop.pk]),
        **context,
    )


@manager_page
def method_active(
    request: HttpRequest, shop: Enterprise, pk: int, *, pages: MethodPages
) -> HttpResponse:
    """GET asks to confirm; POST `active=true|false` sets it (the same answer when posted
    twice, unlike a toggle)."""
    method = pages.method(shop, pk)
    if request.method == "POST":
        active = {"true": True, "false": False}.get(request.POST.get("active", ""))
        if active is None:  # the confirmation form was tampered with
            return HttpResponseBadRequest()
        pages.update(method, {"active": active})
        done = pages.reactivated if active else pages.deactivated
        messages.success(request, done % {"name": method.name})
        return redirect(f"{pages.url}s", shop_id=shop.pk)
    if method.active:
        title = _("Deactivate “%(name)s”?") % {"name": method.name}
    else:
        title = _("Reactivate “%(name)s”?") % {"name": method.name}
    return render_page(
        request,
        "manage/methods/active.html",
        shop=shop,
        title=title,
        area=pages.area,
        crumbs=[
            *pages.crumbs(shop),
            (method.name, reverse(pages.url, args=[shop.pk, method.pk])),
        ],
        method=method,
        consequence=pages.consequence(method),
        list_url=reverse(f"{pages.url}s", args=[shop.pk]),
    )


def _routes(prefix: str, pages: MethodPages) -> list:
    kind = {"pages": pages}
    return [
        path(f"{prefix}/", method_list, kind, name=f"{pages.url}s"),
        path(f"{prefix}/new/", method_form, kind, name=f"{pages.url}-new"),
        path(f"{prefix}/<int:pk>/", method_form, kind, name=pages.url),
        path(f"{prefix}/<int:pk>/active/", method_active, kind, name=f"{pages.url}-active"),
    ]


urlpatterns = [*_routes("payment-methods", PAYMENT), *_routes("shipping-methods", SHIPPING)]
