"""Stripe: the one module that talks to Stripe, through the official SDK.

Every SDK call is wrapped here: failures are logged with structured `extra` and turned into a
small taxonomy the rest of the code handles without knowing Stripe:

- `CardRefused` — the card or payment method was refused; its message is safe for the buyer;
- `InvalidCard` — no such payment method, or one that belongs elsewhere (bad input);
- `GatewayUnavailable` — timeouts, connection errors, 5xx, rate limits, missing configuration:
  nothing was decided, try again later.

The client is built lazily from settings (never at import), so tests and deployments point it
at another server with `STRIPE_API_BASE` (localstripe in the test suite).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import stripe
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from cadence.money import to_minor_units
from cadence.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PreparedCharge,
)

if TYPE_CHECKING:
    from stripe._requestor_options import BaseAddresses
    from stripe.params import PaymentIntentCreateParams, SetupIntentCreateParams

log = logging.getLogger(__name__)

# Stripe answers within seconds; a confirmation run must not hang on one buyer.
REQUEST_TIMEOUT_SECONDS = 20


class GatewayError(Exception):
    """A Stripe call did not do what was asked. `user_message` is safe to show the buyer."""

    def __init__(self, message: str, *, user_message: str = "", code: str = ""):
        super().__init__(message)
        self.user_message = user_message or message
        self.code = code


class CardRefused(GatewayError):
    pass


class InvalidCard(GatewayError):
    pass


class GatewayUnavailable(GatewayError):
    pass


class InvalidWebhook(Exception):
    """The payload is not a Stripe event signed with our webhook secret."""


@dataclass(frozen=True)
class CardDetails:
    payment_method_id: str
    customer_id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    client_secret: str
    status: str
    customer_id: str
    payment_method_id: str
    usage: str


@dataclass(frozen=True)
class IntentInfo:
    id: str
    status: str
    client_secret: str
    error: str  # Stripe's own message of the last failure (English), for logs
    metadata: dict


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_SECONDS),
        # Our idempotency keys make the SDK's retries of a POST safe.
        max_network_retries=1,
        base_addresses=base_addresses,
    )


def client() -> stripe.StripeClient:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise GatewayUnavailable(
            "STRIPE_SECRET_KEY is not set",
            user_message=_("Card payments are not available at the moment."),
            code="not_configured",
        )
    return _client_for(key, settings.STRIPE_API_BASE or "")


def _translate(exc: stripe.StripeError, *, operation: str, **context) -> GatewayError:
    """Log a Stripe error for operators and return the matching error of our taxonomy."""
    code = getattr(exc, "code", None) or ""
    log.warning(
        "stripe %s failed: %s",
        operation,
        exc.user_message or str(exc),
        extra={
            "stripe_operation": operation,
            "stripe_error": type(exc).__name__,
            "stripe_code": code,
            "stripe_http_status": getattr(exc, "http_status", None),
            "stripe_request_id": getattr(exc, "request_id", None),
            **context,
        },
    )
    if isinstance(exc, stripe.CardError):
        return CardRefused(str(exc), user_message=decline_message(code), code=code)
    if isinstance(exc, stripe.InvalidRequestError):
        if getattr(exc, "http_status", None) == 402:
            return CardRefused(str(exc), user_message=decline_message(code), code=code)
        return InvalidCard(str(exc), user_message=_("This card could not be found."), code=code)
    # APIConnectionError (timeouts included), RateLimitError, APIError (5xx), authentication
    # or permission problems of our own key: nothing was decided, the caller may retry later.
    return GatewayUnavailable(
        str(exc),
        user_message=_("Card payments are not available at the moment."),
        code=code or type(exc).__name__,
    )


@contextmanager
def _stripe_call(operation: str, **context) -> Iterator[None]:
    """Around one SDK call: a Stripe error leaves as the matching error of our taxonomy,
    logged with `operation` and `context` (`_translate`)."""
    try:
        yield
    except stripe.StripeError as exc:
        raise _translate(exc, operation=operation, **context) from exc


def decline_message(code: str) -> str:
    """The buyer-facing reason of a refused card, in the active language."""
    messages = {
        "expired_card": _("Your card has expired."),
        "insufficient_funds": _("Your card has insufficient funds."),
        "incorrect_cvc": _("Your card's security code is incorrect."),
        "processing_error": _("An error occurred while processing your card."),
        "authentication_required": _("Your bank asks you to authorise this payment."),
    }
    return messages.get(code, _("Your card was declined."))


def _plain(obj) -> dict:
    """SDK objects are not dicts; the rest of this module reads plain dicts."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _card_details(pm) -> CardDetails:
    pm = _plain(pm)
    card = pm.get("card") or {}
    customer = pm.get("customer") or ""
    if not isinstance(customer, str):  # expanded
        customer = customer.get("id", "")
    return CardDetails(
        payment_method_id=pm["id"],
        customer_id=customer,
        brand=card.get("brand") or "",
        last4=card.get("last4") or "",
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )


def _setup_info(si) -> SetupIntentInfo:
    si = _plain(si)
    pm = si.get("payment_method") or ""
    if not isinstance(pm, str):
        pm = pm.get("id", "")
    return SetupIntentInfo(
        id=si["id"],
        client_secret=si.get("client_secret") or "",
        status=si.get("status") or "",
        customer_id=si.get("customer") or "",
        payment_method_id=pm,
        usage=si.get("usage") or "",
    )


def _intent_info(pi) -> IntentInfo:
    pi = _plain(pi)
    error = pi.get("last_payment_error") or {}
    return IntentInfo(
        id=pi["id"],
        status=pi.get("status") or "",
        client_secret=pi.get("client_secret") or "",
        error=(error.get("message") or "") if error else "",
        metadata=dict(pi.get("metadata") or {}),
    )


def _options(*, idempotency_key: str = "", stripe_account: str = "") -> stripe.RequestOptions:
    options: stripe.RequestOptions = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    if stripe_account:
        options["stripe_account"] = stripe_account
    return options


def idempotency_key(kind: str, pk: int, created_at: datetime) -> str:
    """A key for one of our rows: its id and creation time, so that a database started afresh
    (ids counting from 1 again) never meets the answers Stripe kept for the old rows."""
    return f"{kind}:{pk}:{int(created_at.timestamp() * 1_000_000)}"


def customer_create(*, email: str, user_id: int, joined_at: datetime) -> str:
    """Create the buyer's Stripe Customer on the instance's account; returns its id."""
    with _stripe_call("customer_create", user_id=user_id):
        customer = client().v1.customers.create(
            params={"email": email, "metadata": {"user_id": str(user_id)}},
            options=_options(idempotency_key=idempotency_key("user", user_id, joined_at)),
        )
    return customer.id


def setup_intent_create(*, customer_id: str) -> SetupIntentInfo:
    """A SetupIntent saving a card of this customer for charges made without them present."""
    with _stripe_call("setup_intent_create", customer=customer_id):
        params: SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
            # Accepted by Stripe's API (and what localstripe knows); this SDK's types omit it.
            "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
        }
        si = client().v1.setup_intents.create(params=params)
    return _setup_info(si)


def setup_intent_retrieve(setup_intent_id: str) -> SetupIntentInfo:
    with _stripe_call("setup_intent_retrieve", setup_intent=setup_intent_id):
        si = client().v1.setup_intents.retrieve(setup_intent_id)
    return _setup_info(si)


def setup_intent_confirm(*, setup_intent_id: str, payment_method_id: str) -> SetupIntentInfo:
    """Confirm a SetupIntent server-side with a payment method made by Stripe.js or the SDK."""
    with _stripe_call("setup_intent_confirm", setup_intent=setup_intent_id):
        si = client().v1.setup_intents.confirm(
            setup_intent_id, params={"payment_method": payment_method_id}
        )
    return _setup_info(si)


def payment_method_retrieve(payment_method_id: str) -> CardDetails:
    with _stripe_call("payment_method_retrieve", payment_method=payment_method_id):
        pm = client().v1.payment_methods.retrieve(payment_method_id)
    if pm.type != "card":
        raise InvalidCard("not a card", user_message=_("This payment method is not a card."))
    return _card_details(pm)


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> CardDetails:
    with _stripe_call("payment_method_attach", payment_method=payment_method_id):
        pm = client().v1.payment_methods.attach(payment_method_id, params={"customer": customer_id})
    return _card_details(pm)


def payment_method_detach(payment_method_id: str) -> None:
    with _stripe_call("payment_method_detach", payment_method=payment_method_id):
        client().v1.payment_methods.detach(payment_method_id)


def payment_intent_retrieve(payment_intent_id: str, *, stripe_account: str = "") -> IntentInfo:
    with _stripe_call("payment_intent_retrieve", payment_intent=payment_intent_id):
        pi = client().v1.payment_intents.retrieve(
            payment_intent_id, options=_options(stripe_account=stripe_account)
        )
    return _intent_info(pi)


def webhook_event(*, payload: bytes, signature: str) -> dict:
    """The verified event as a plain dict; raises InvalidWebhook on a bad or missing signature."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        raise InvalidWebhook("missing signature or webhook secret")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        log.warning("stripe webhook rejected: %s", exc, extra={"stripe_operation": "webhook"})
        raise InvalidWebhook(str(exc)) from exc
    return json.loads(payload)


class StripeGateway:
    """Off-session charges of buyers' default cards, at confirmation.

    `send()` makes network calls only (confirmation's pool runs it on other threads) and never
    takes money twice for one payment row: a payment whose PaymentIntent is already known is
    looked up rather than charged, and a new PaymentIntent is created with an idempotency key
    derived from the payment row (`idempotency_key`), so a retry after a crash (before the
    result was recorded) gets Stripe's answer to the first attempt back instead of a second
    charge.
    """

    needs_saved_card = True

    def send(self, prepared: PreparedCharge) -> ChargeResult:
        with translation.override(prepared.language):
            if prepared.known_reference:
                return self._outcome_of_known_intent(prepared.request, prepared.known_reference)
            return self._create_intent(prepared)

    def _create_intent(self, prepared: PreparedCharge) -> ChargeResult:
        # The key is the payment's (`idempotency_key`): sending this again, from any process,
        # after a crash or a timeout, gets the first PaymentIntent back, never a second charge.
        request = prepared.request
        key = idempotency_key("payment", request.payment_id, prepared.payment_created_at)
        try:
            payment_method_id = prepared.payment_method_id
            customer_id: str | None = prepared.customer_id
            if request.stripe_account:
                # Cards are saved on the instance's account; a charge on a shop's connected
                # account uses a copy of the card made there (Stripe's "cloning").
                clone = client().v1.payment_methods.create(
                    params={"customer": prepared.customer_id, "payment_method": payment_method_id},
                    options=_options(
                        idempotency_key=f"{key}:clone", stripe_account=request.stripe_account
                    ),
                )
                payment_method_id, customer_id = clone.id, None
            params: PaymentIntentCreateParams = {
                "amount": to_minor_units(Decimal(request.amount), request.currency),
                "currency": request.currency.lower(),
                "payment_method": payment_method_id,
                "off_session": True,
                "confirm": True,
                "metadata": {
                    "payment_id": str(request.payment_id),
                    "payment_key": key,
                    "description": request.description[:500],
                },
            }
            if customer_id:
                params["customer"] = customer_id
            pi = client().v1.payment_intents.create(
                params=params,
                options=_options(idempotency_key=key, stripe_account=request.stripe_account),
            )
        except GatewayUnavailable as exc:
            return ChargeResult(ChargeStatus.RETRY, error=exc.user_message)
        except stripe.StripeError as exc:
            return self._outcome_of_error(request, exc)
        return self._outcome(_intent_info(pi))

    def _outcome_of_known_intent(self, request: ChargeRequest, intent_id: str) -> ChargeResult:
        try:
            intent = payment_intent_retrieve(intent_id, stripe_account=request.stripe_account)
        except GatewayUnavailable as exc:
            return ChargeResult(ChargeStatus.RETRY, reference=intent_id, error=exc.user_message)
        except GatewayError as exc:
            return ChargeResult(ChargeStatus.FAILED, reference=intent_id, error=exc.user_message)
        return self._outcome(intent)

    def _outcome_of_error(self, request: ChargeRequest, exc: stripe.StripeError) -> ChargeResult:
        error = _translate(exc, operation="payment_intent_create", payment_id=request.payment_id)
        if isinstance(error, GatewayUnavailable) or isinstance(exc, stripe.IdempotencyError):
            return ChargeResult(ChargeStatus.RETRY, error=error.user_message)
        # Stripe names the PaymentIntent in a card error; an off-session charge that needs the
        # buyer's authentication fails with `authentication_required` and can be completed by
        # them on the authentication page.
        pi = getattr(getattr(exc, "error", None), "payment_intent", None)
        pi = _plain(pi) if pi else None
        reference = pi.get("id", "") if pi else ""  # written down by `charge_remember`
        if pi and error.code == "authentication_required":
            return ChargeResult(
                ChargeStatus.REQUIRES_ACTION,
                reference=reference,
                client_secret=pi.get("client_secret") or "",
                error=decline_message(error.code),
            )
        if isinstance(error, InvalidCard):
            return ChargeResult(ChargeStatus.FAILED, reference=reference, error=_("no usable card"))
        return ChargeResult(ChargeStatus.FAILED, reference=reference, error=error.user_message)

    @staticmethod
    def _outcome(intent: IntentInfo) -> ChargeResult:
        if intent.status in ("succeeded", "requires_capture"):
            return ChargeResult(ChargeStatus.SUCCEEDED, reference=intent.id)
        if intent.status == "requires_action":
            return ChargeResult(
                ChargeStatus.REQUIRES_ACTION,
                reference=intent.id,
                client_secret=intent.client_secret,
                error=decline_message("authentication_required"),
            )
        if intent.status == "processing":
            # Settles later; the webhook records the outcome.
            return ChargeResult(ChargeStatus.PENDING, reference=intent.id)
        return ChargeResult(
            ChargeStatus.FAILED, reference=intent.id, error=decline_message("card_declined")
        )
