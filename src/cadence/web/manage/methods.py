"""The shop's payment and shipping methods: list, add, edit, deactivate and reactivate.

Methods are never deleted here: past orders and subscriptions point to them, so a method the
shop no longer offers is deactivated and stays listed, marked inactive. The rules (blank name,
negative fee, percentage over 100, Stripe account id) are the services', shared with the API.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
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
from cadence.web.manage.forms import add_service_errors
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

# --- Forms -------------------------------------------------------------------------------

# Digits with at most one decimal mark, already turned into a point.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Spaces a number may be grouped with: "1 000,50" (French writes a narrow no-break space).
_GROUPING = re.compile(r"[\s\u00a0\u202f]")


class DecimalText(forms.CharField):
    """A number typed with a point or a comma as the decimal mark (`2.50`, `2,50`, `1 000,50`),
    read as a Decimal; left empty, it reads as 0.

    Django's DecimalField follows the page's language, so in English `2,50` would read as 250.
    The sign and the range are left to the services, so a negative fee gets their message;
    refused here is only what the column cannot store: more decimals than `decimal_places`,
    and (when `max_digits` is given) more digits before the mark than it leaves room for."""

    def __init__(self, *, decimal_places: int, max_digits: int | None = None, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        self.decimal_places = decimal_places
        self.max_digits = max_digits

    def to_python(self, value) -> Decimal:
        text = _GROUPING.sub("", super().to_python(value))
        if not text:
            return Decimal(0)
        if text.count(",") + text.count(".") > 1 or not _NUMBER.fullmatch(text.replace(",", ".")):
            raise ValidationError(
                _("Enter a number for “%(field)s”, such as 2.50 or 2,50.") % {"field": self.label},
                code="invalid",
            )
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
            raise ValidationError(_("Enter a number."), code="invalid") from None
        _sign, digits, exponent = number.normalize().as_tuple()
        if -exponent > self.decimal_places:
            raise ValidationError(
                ngettext(
                    "“%(field)s” takes at most %(places)d decimal.",
                    "“%(field)s” takes at most %(places)d decimals.",
                    self.decimal_places,
                )
                % {"field": self.label, "places": self.decimal_places},
                code="decimal_places",
            )
        if self.max_digits is not None and len(digits) + exponent > (
            self.max_digits - self.decimal_places
        ):
            raise ValidationError(
                _("The number for “%(field)s” is too large.") % {"field": self.label},
                code="max_digits",
            )
        return number


def _choice(title: str, explanation: str) -> str:
    """A radio button's label: what it is, then what it means, in lighter type."""
    return format_html(
        '<span class="choice-title">{}</span> <span class="help">{}</span>', title, explanation
    )


# Under each kind's radio button: what it does, and whether subscriptions can use it.
KIND_EXPLANATIONS = {
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
    fee = DecimalText(label=gettext_lazy("Fixed fee"), decimal_places=2, max_digits=12)
    fee_percent = DecimalText(label=gettext_lazy("Percentage fee"), decimal_places=3)
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

    def __init__(self, *args, currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].widget.choices = [
                (value, _choice(label, KIND_EXPLANATIONS[value]))
                for value, label in PaymentMethodKind.choices
            ]
        self.fields["fee"].help_text = _(
            "Added to each order paid this way, e.g. %(example)s. Leave empty for none."
        ) % {"example": formatting.money(Decimal("0.50"), currency)}
        self.fields["fee_percent"].help_text = _(
            "A percentage of the products' total, added to each order paid this way: e.g. "
            "%(example)s. Leave empty for none."
        ) % {"example": formatting.number(Decimal("1.5"))}


class PaymentMethodEditForm(PaymentMethodForm):
    """Editing: the kind is fixed once added (as in the API: a subscription's method must
    keep meaning what it meant when chosen), and only a Stripe method has a connected
    account."""

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["kind"]
        if kind != PaymentMethodKind.STRIPE:
            del self.fields["stripe_account"]


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
    fee = DecimalText(label=gettext_lazy("Fee"), decimal_places=2, max_digits=12)

    def __init__(self, *args, currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requires_address"].choices = [
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


def _amount_input(value: Decimal) -> str:
    """An amount as typed back into its field: two decimals and the reader's decimal mark
    (`2,50` in French), which `DecimalText` reads back."""
    text = f"{value:.2f}"
    return text.replace(".", ",") if formatting.reader_language() == "fr" else text


def _shipping_initial(method: ShippingMethod | None) -> dict:
    if method is None:
        return {"requires_address": "true"}
    return {
        "name": method.name,
        "requires_address": "true" if method.requires_address else "false",
        "description": method.description,
        "fee": _amount_input(method.fee),
    }


def _payment_initial(method: PaymentMethod | None) -> dict:
    if method is None:
        return {"kind": PaymentMethodKind.MANUAL}
    return {
        "name": method.name,
        "description": method.description,
        "fee": _amount_input(method.fee),
        "fee_percent": formatting.number(method.fee_percent),
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


# --- Payment methods ---------------------------------------------------------------------


def _payment_crumbs(shop: Enterprise) -> list[tuple[str, str]]:
    return [(_("Payment methods"), reverse("manage-payment-methods", args=[shop.pk]))]


@manager_page
@require_GET
def payment_method_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    table = configure(
        request,
        PaymentMethodTable(
            payment_methods_for_shop(shop=shop), currency=shop.currency, order_by="name"
        ),
    )
    return render_page(
        request,
        "manage/methods/list.html",
        shop=shop,
        title=_("Payment methods"),
        area="payment-methods",
        table=table,
        intro=_(
            "How buyers pay. Subscriptions can use manual methods (cash, cheque or bank "
            "transfer, collected by hand) and Stripe (the buyer's card is charged "
            "automatically)."
        ),
        add_url=reverse("manage-payment-method-new", args=[shop.pk]),
        add_label=_("Add a payment method"),
    )


@manager_page
def payment_method_new(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    form = PaymentMethodForm(
        request.POST if request.method == "POST" else None,
        initial=_payment_initial(None),
        currency=shop.currency,
    )
    if request.method == "POST" and form.is_valid():
        try:
            method = payment_method_create(shop=shop, **form.cleaned_data)
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("The payment method “%(name)s” is added.") % {"name": method.name}
            )
            return redirect("manage-payment-methods", shop_id=shop.pk)
    return render_page(
        request,
        "manage/methods/form.html",
        shop=shop,
        title=_("New payment method"),
        area="payment-methods",
        crumbs=_payment_crumbs(shop),
        form=form,
        submit_label=_("Add the payment method"),
        list_url=reverse("manage-payment-methods", args=[shop.pk]),
    )


@manager_page
def payment_method_edit(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    method = get_for_shop(payment_methods_for_shop(shop=shop), pk=pk, shop=shop)
    form = PaymentMethodEditForm(
        request.POST if request.method == "POST" else None,
        initial=_payment_initial(method),
        currency=shop.currency,
        kind=method.kind,
    )
    if request.method == "POST" and form.is_valid():
        try:
            payment_method_update(payment_method=method, changes=dict(form.cleaned_data))
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("The payment method “%(name)s” is saved.") % {"name": method.name}
            )
            return redirect("manage-payment-methods", shop_id=shop.pk)
    return render_page(
        request,
        "manage/methods/form.html",
        shop=shop,
        title=method.name,
        area="payment-methods",
        crumbs=_payment_crumbs(shop),
        form=form,
        method=method,
        kind_label=method.get_kind_display(),
        submit_label=_("Save"),
        list_url=reverse("manage-payment-methods", args=[shop.pk]),
        active_url=reverse("manage-payment-method-active", args=[shop.pk, method.pk]),
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
    return _(
        "It can be chosen again, and subscriptions that use it get orders again from the next "
        "order cycle that opens."
    )


@manager_page
def payment_method_active(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET asks to confirm; POST `active=true|false` sets it (the same answer when posted
    twice, unlike a toggle)."""
    method = get_for_shop(payment_methods_for_shop(shop=shop), pk=pk, shop=shop)
    if request.method == "POST":
        active = _posted_active(request)
        if active is None:
            return HttpResponseBadRequest()
        payment_method_update(payment_method=method, changes={"active": active})
        if active:
            message = _("The payment method “%(name)s” is active again.")
        else:
            message = _("The payment method “%(name)s” is deactivated.")
        messages.success(request, message % {"name": method.name})
        return redirect("manage-payment-methods", shop_id=shop.pk)
    return _render_active(
        request,
        shop=shop,
        method=method,
        area="payment-methods",
        crumbs=[
            *_payment_crumbs(shop),
            (method.name, reverse("manage-payment-method", args=[shop.pk, method.pk])),
        ],
        consequence=_payment_consequence(method),
        list_url=reverse("manage-payment-methods", args=[shop.pk]),
    )


# --- Shipping methods --------------------------------------------------------------------


def _shipping_crumbs(shop: Enterprise) -> list[tuple[str, str]]:
    return [(_("Shipping methods"), reverse("manage-shipping-methods", args=[shop.pk]))]


@manager_page
@require_GET
def shipping_method_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    table = configure(
        request,
        ShippingMethodTable(
            shipping_methods_for_shop(shop=shop), currency=shop.currency, order_by="name"
        ),
    )
    return render_page(
        request,
        "manage/methods/list.html",
        shop=shop,
        title=_("Shipping methods"),
        area="shipping-methods",
        table=table,
        intro=_(
            "How orders reach buyers: delivered to their address, or picked up. Subscriptions "
            "can use any active shipping method."
        ),
        add_url=reverse("manage-shipping-method-new", args=[shop.pk]),
        add_label=_("Add a shipping method"),
    )


@manager_page
def shipping_method_new(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    form = ShippingMethodForm(
        request.POST if request.method == "POST" else None,
        initial=_shipping_initial(None),
        currency=shop.currency,
    )
    if request.method == "POST" and form.is_valid():
        try:
            method = shipping_method_create(shop=shop, **form.cleaned_data)
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("The shipping method “%(name)s” is added.") % {"name": method.name}
            )
            return redirect("manage-shipping-methods", shop_id=shop.pk)
    return render_page(
        request,
        "manage/methods/form.html",
        shop=shop,
        title=_("New shipping method"),
        area="shipping-methods",
        crumbs=_shipping_crumbs(shop),
        form=form,
        submit_label=_("Add the shipping method"),
        list_url=reverse("manage-shipping-methods", args=[shop.pk]),
    )


@manager_page
def shipping_method_edit(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    method = get_for_shop(shipping_methods_for_shop(shop=shop), pk=pk, shop=shop)
    form = ShippingMethodForm(
        request.POST if request.method == "POST" else None,
        initial=_shipping_initial(method),
        currency=shop.currency,
    )
    if request.method == "POST" and form.is_valid():
        try:
            shipping_method_update(shipping_method=method, changes=dict(form.cleaned_data))
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("The shipping method “%(name)s” is saved.") % {"name": method.name}
            )
            return redirect("manage-shipping-methods", shop_id=shop.pk)
    return render_page(
        request,
        "manage/methods/form.html",
        shop=shop,
        title=method.name,
        area="shipping-methods",
        crumbs=_shipping_crumbs(shop),
        form=form,
        method=method,
        submit_label=_("Save"),
        list_url=reverse("manage-shipping-methods", args=[shop.pk]),
        active_url=reverse("manage-shipping-method-active", args=[shop.pk, method.pk]),
    )


def _shipping_consequence(method: ShippingMethod) -> str:
    if method.active:
        return _(
            "New subscriptions can no longer choose it. Subscriptions that use it get no new "
            "orders until you give them another shipping method; orders already placed go on "
            "as planned. You can reactivate it at any time."
        )
    return _(
        "It can be chosen again, and subscriptions that use it get orders again from the next "
        "order cycle that opens."
    )


@manager_page
def shipping_method_active(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    """GET asks to confirm; POST `active=true|false` sets it."""
    method = get_for_shop(shipping_methods_for_shop(shop=shop), pk=pk, shop=shop)
    if request.method == "POST":
        active = _posted_active(request)
        if active is None:
            return HttpResponseBadRequest()
        shipping_method_update(shipping_method=method, changes={"active": active})
        if active:
            message = _("The shipping method “%(name)s” is active again.")
        else:
            message = _("The shipping method “%(name)s” is deactivated.")
        messages.success(request, message % {"name": method.name})
        return redirect("manage-shipping-methods", shop_id=shop.pk)
    return _render_active(
        request,
        shop=shop,
        method=method,
        area="shipping-methods",
        crumbs=[
            *_shipping_crumbs(shop),
            (method.name, reverse("manage-shipping-method", args=[shop.pk, method.pk])),
        ],
        consequence=_shipping_consequence(method),
        list_url=reverse("manage-shipping-methods", args=[shop.pk]),
    )


# --- Shared ------------------------------------------------------------------------------


def _posted_active(request: HttpRequest) -> bool | None:
    """The state asked for by the confirmation form (None when the form was tampered with)."""
    return {"true": True, "false": False}.get(request.POST.get("active", ""))


def _render_active(request: HttpRequest, *, shop, method, **context) -> HttpResponse:
    if method.active:
        title = _("Deactivate “%(name)s”?") % {"name": method.name}
    else:
        title = _("Reactivate “%(name)s”?") % {"name": method.name}
    return render_page(
        request, "manage/methods/active.html", shop=shop, title=title, method=method, **context
    )


urlpatterns = [
    path("payment-methods/", payment_method_list, name="manage-payment-methods"),
    path("payment-methods/new/", payment_method_new, name="manage-payment-method-new"),
    path("payment-methods/<int:pk>/", payment_method_edit, name="manage-payment-method"),
    path(
        "payment-methods/<int:pk>/active/",
        payment_method_active,
        name="manage-payment-method-active",
    ),
    path("shipping-methods/", shipping_method_list, name="manage-shipping-methods"),
    path("shipping-methods/new/", shipping_method_new, name="manage-shipping-method-new"),
    path("shipping-methods/<int:pk>/", shipping_method_edit, name="manage-shipping-method"),
    path(
        "shipping-methods/<int:pk>/active/",
        shipping_method_active,
        name="manage-shipping-method-active",
    ),
]
