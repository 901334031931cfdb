"""The buyer's pages: saved cards with per-shop consent, and completing an authentication.

Thin: they parse the form, call a service of `payments.cards` or the gateway, and redirect with
a message. Every page works without JavaScript except the two that need Stripe.js (adding a
card, authenticating a payment).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadence.enterprises.selectors import shop_by_id
from cadence.errors import ValidationFailed
from cadence.orders.models import PaymentState
from cadence.payments import cards
from cadence.payments.gateways import stripe as gateway
from cadence.payments.models import SavedCard
from cadence.payments.selectors import (
    default_card_for,
    payment_for_authentication,
    saved_card_of,
    saved_cards_of,
    shop_ids_allowed_to_charge,
)
from cadence.payments.stripe_events import payment_record_intent_outcome


def _own_card(request: HttpRequest, card_id: int) -> SavedCard:
    card = saved_card_of(user=request.user, card_id=card_id)
    if card is None:
        raise Http404
    return card


def _error_text(exc: ValidationFailed) -> str:
    return " ".join(m for msgs in exc.errors.values() for m in msgs)


@login_required
def cards_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    if request.method == "POST":
        try:
            cards.card_save(
                user=user,
                stripe_payment_method_id=request.POST.get("payment_method_id", ""),
                setup_intent_id=request.POST.get("setup_intent_id", ""),
            )
        except ValidationFailed as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Your card was saved."))
        return redirect("cards")
    live = shop_ids_allowed_to_charge(user)
    shops = [
        {"shop": shop, "allowed": shop.pk in live, "text": cards.consent_text(shop)}
        for shop in cards.shops_of_buyer(user)
    ]
    return render(
        request,
        "payments/cards.html",
        {
            "cards": saved_cards_of(user, default_first=True),
            "default_card": default_card_for(user),
            "shops": shops,
            "any_consent": bool(live),
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )


@login_required
@require_POST
def card_setup(request: HttpRequest) -> JsonResponse:
    """The SetupIntent the card form confirms with Stripe.js."""
    try:
        setup = cards.card_setup_start(user=request.user)
    except ValidationFailed as exc:
        return JsonResponse({"error": _error_text(exc)}, status=503)
    return JsonResponse({"client_secret": setup.client_secret, "setup_intent_id": setup.id})


@login_required
@require_POST
def card_make_default(request: HttpRequest, card_id: int) -> HttpResponse:
    card = _own_card(request, card_id)
    try:
        cards.card_set_default(user=request.user, card=card)
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("This card is now your default. Allow charges again for the shops you trust."),
        )
    return redirect("cards")


@login_required
@require_POST
def card_remove(request: HttpRequest, card_id: int) -> HttpResponse:
    card = _own_card(request, card_id)
    cards.card_delete(user=request.user, card=card)
    messages.success(request, _("The card was deleted."))
    return redirect("cards")


@login_required
@require_POST
def shop_charges(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = shop_by_id(shop_id)
    if shop is None:
        raise Http404
    allow = request.POST.get("allow_charges") in ("on", "true", "1")
    try:
        cards.consent_set(user=request.user, shop=shop, allow=allow, text=cards.consent_text(shop))
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
    else:
        if allow:
            messages.success(
                request, _("%(shop)s may now charge your default card.") % {"shop": shop.name}
            )
        else:
            messages.success(
                request, _("%(shop)s may no longer charge your card.") % {"shop": shop.name}
            )
    return redirect("cards")


@login_required
def payment_authenticate(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Complete a payment whose off-session charge asked for the buyer's authentication."""
    payment = payment_for_authentication(payment_id=payment_id)
    if payment is None:
        raise Http404
    order = payment.order
    if order.user_id != request.user.pk and order.customer.user_id != request.user.pk:
        raise Http404
    context = {"payment": payment, "order": order, "stripe_js_url": settings.STRIPE_JS_URL}
    context["stripe_publishable_key"] = settings.STRIPE_PUBLISHABLE_KEY
    if payment.state != PaymentState.REQUIRES_AUTHORIZATION or not payment.gateway_reference:
        return render(request, "payments/authenticate.html", context)
    try:
        intent = gateway.payment_intent_retrieve(
            payment.gateway_reference, stripe_account=payment.method.stripe_account
        )
    except gateway.GatewayError as exc:
        context["error"] = exc.user_message
        return render(request, "payments/authenticate.html", context)
    if request.method == "POST" or intent.status != "requires_action":
        # Stripe.js reported back (or the intent moved on by itself): record what Stripe says,
        # not what the browser says.
        if intent.status in ("succeeded", "requires_capture"):
            payment_record_intent_outcome(payment=payment, intent_id=intent.id, succeeded=True)
            messages.success(request, _("Thank you: your payment is complete."))
        elif intent.status in ("requires_payment_method", "canceled"):
            payment_record_intent_outcome(payment=payment, intent_id=intent.id, succeeded=False)
            messages.error(request, _("The payment was not authorised."))
        return redirect("pay-authenticate", payment_id=payment.pk)
    context["client_secret"] = intent.client_secret
    default = default_card_for(request.user)
    context["payment_method_id"] = default.stripe_payment_method_id if default else ""
    return render(request, "payments/authenticate.html", context)
