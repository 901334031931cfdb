"""The shop's settings: subscriptions on or off, what buyers may do, allocation, time zone,
currency, contact and language."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cadence.enterprises.models import AllocationPolicy, Enterprise, Language
from cadence.enterprises.services import enterprise_update
from cadence.errors import ValidationFailed
from cadence.web.manage.access import manager_page
from cadence.web.manage.forms import add_service_errors
from cadence.web.manage.pages import render_page

# Offered in the currency list; any ISO 4217 code may be typed. Fields the service checks
# (time zone, currency) have no length limit here, so their message is the service's, as in
# the API.
COMMON_CURRENCIES = ("EUR", "GBP", "CHF", "USD", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK")


class ShopSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Shop name"), max_length=200)
    enable_subscriptions = forms.BooleanField(
        label=gettext_lazy("Enable subscriptions"),
        required=False,
        help_text=gettext_lazy(
            "When off, no subscription page is shown and nothing is placed for this shop, even "
            "for subscriptions that exist."
        ),
    )
    allow_order_changes = forms.BooleanField(
        label=gettext_lazy("Buyers may change their placed orders"),
        required=False,
        help_text=gettext_lazy(
            "Until the order cycle closes, buyers may lower quantities, remove lines, cancel "
            "an order and skip or resume a delivery."
        ),
    )
    allow_self_subscribe = forms.BooleanField(
        label=gettext_lazy("Buyers may subscribe by themselves"),
        required=False,
        help_text=gettext_lazy(
            "Buyers start, pause and cancel their own subscriptions from the shop's page."
        ),
    )
    allocation_policy = forms.ChoiceField(
        label=gettext_lazy("When stock runs short"),
        choices=AllocationPolicy.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "First come, first served: the oldest subscriptions get their full quantity first. "
            "Fair share: every subscription gets the same share of what there is, rounded "
            "down, and what is left goes to the oldest."
        ),
    )
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"),
        help_text=gettext_lazy(
            "Order cycles open and close on this clock. Type to search, e.g. Europe/Paris."
        ),
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    currency = forms.CharField(
        label=gettext_lazy("Currency"),
        help_text=gettext_lazy("A three-letter code, e.g. EUR."),
        widget=forms.TextInput(attrs={"list": "currencies", "autocomplete": "off", "size": 4}),
    )
    contact_email = forms.CharField(
        label=gettext_lazy("Contact email"),
        required=False,
        max_length=254,
        help_text=gettext_lazy("Buyers' replies go here, and so do the shop's summaries."),
        widget=forms.EmailInput,
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the shop's emails"), choices=Language.choices
    )
    send_subscription_emails = forms.BooleanField(
        label=gettext_lazy("Email buyers when their subscription starts, changes, pauses or ends"),
        required=False,
    )


def _initial(shop: Enterprise) -> dict:
    return {name: getattr(shop, name) for name in ShopSettingsForm.base_fields}


@manager_page
def shop_settings(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    form = ShopSettingsForm(request.POST or None, initial=_initial(shop))
    if request.method == "POST" and form.is_valid():
        try:
            enterprise_update(enterprise=shop, changes=dict(form.cleaned_data))
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The shop's settings are saved."))
            return redirect("manage-settings", shop_id=shop.pk)
    return render_page(
        request,
        "manage/settings/form.html",
        shop=shop,
        title=_("Settings"),
        area="settings",
        form=form,
        timezones=sorted(zoneinfo.available_timezones()),
        currencies=COMMON_CURRENCIES,
    )
