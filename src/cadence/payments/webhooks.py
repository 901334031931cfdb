"""Stripe webhooks at /stripe/webhook, and the recording of a PaymentIntent's later outcome.

Each event is processed once: its id is inserted into `StripeEvent` in the same transaction as
its effects, and the unique constraint (not an `exists()` check) makes a replay or a concurrent
delivery a no-op. A handler that fails rolls the insert back, so Stripe's redelivery retries it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cadence.orders.models import Order, OrderState, PaymentState
from cadence.payments.gateways import stripe as gateway
from cadence.payments.models import Payment, SavedCard, StripeEvent
from cadence.payments.services import payment_failed_notify

log = logging.getLogger(__name__)

# Only a payment awaiting the buyer's authentication is decided by a later event: the outcome of
# an off-session charge is recorded by confirmation itself, which must not race with webhooks.
# Once confirmation is done, a payment it left pending (a charge Stripe was still processing,
# or one it could not reach Stripe for) is decided by a later event too.
_OPEN_STATES = (PaymentState.REQUIRES_AUTHORIZATION,)
_DECIDED_LATER = Q(state__in=_OPEN_STATES) | Q(
    state=PaymentState.PENDING, order__state=OrderState.CONFIRMED
)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = gateway.webhook_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.InvalidWebhook:
        return HttpResponse(status=400)
    except (TypeError, AttributeError):
        # Stripe's SDK fails this way on a signed body that is JSON but not an object.
        event = None
    problem = malformed_event_problem(event)
    if problem:
        # Signed with our secret, yet not the shape Stripe sends: a bug or a change on
        # Stripe's side worth knowing about, answered 400 so that nothing half-applies.
        log.warning(
            "stripe webhook refused: %s",
            problem,
            extra={
                "stripe_event": str(event.get("id"))[:100],
                "stripe_type": str(event.get("type"))[:100],
            },
        )
        return HttpResponse(
            f"Malformed event: {problem}", status=400, content_type="text/plain; charset=utf-8"
        )
    stripe_event_process(event=event)
    return HttpResponse(status=200)


# The fields the handlers read from an event's object, with the types they must have when
# present (None stands for JSON null).
_STR = (str,)
_OPTIONAL_INT = (int, type(None))
_OBJECT_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "payment_intent.succeeded": {"id": _STR, "metadata": (dict, type(None))},
    "payment_intent.payment_failed": {"id": _STR, "metadata": (dict, type(None))},
    "payment_method.automatically_updated": {"id": _STR, "card": (dict, type(None))},
}
_CARD_FIELDS: dict[str, tuple[type, ...]] = {
    "brand": (str, type(None)),
    "last4": (str, type(None)),
    "exp_month": _OPTIONAL_INT,
    "exp_year": _OPTIONAL_INT,
}


def _type_problem(obj: dict, fields: dict[str, tuple[type, ...]], where: str) -> str:
    for name, types in fields.items():
        if name not in obj:
            if types is _STR:
                return f"{where}.{name} is missing"
            continue
        value = obj[name]
        # bool is an int in Python, never a month or a year in Stripe's events.
        if not isinstance(value, types) or isinstance(value, bool):
            return f"{where}.{name} has the wrong type"
    return ""


def malformed_event_problem(event: object) -> str:
    """What is wrong with a verified event's shape, or "" when the handlers can read it."""
    if not isinstance(event, dict):
        return "the event is not an object"
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        return "id and type must be strings"
    if not 0 < len(event["id"]) <= 100 or len(event["type"]) > 100:
        return "id or type is too long"
    data = event.get("data")
    if not isinstance(data, dict):
        return "data is not an object"
    obj = data.get("object")
    if not isinstance(obj, dict):
        return "data.object is not an object"
    fields = _OBJECT_FIELDS.get(event["type"])
    if fields is None:
        return ""  # an event we ignore
    problem = _type_problem(obj, fields, "data.object")
    if not problem and isinstance(obj.get("card"), dict):
        problem = _type_problem(obj["card"], _CARD_FIELDS, "data.object.card")
    return problem


def stripe_event_process(*, event: dict) -> bool:
    """Apply a verified Stripe event once. Returns False for an event already processed."""
    try:
        with transaction.atomic():
            with transaction.atomic():
                StripeEvent.objects.create(stripe_event_id=event["id"], type=event["type"])
            _HANDLERS.get(event["type"], _ignore)(event.get("data", {}).get("object") or {})
    except IntegrityError:
        log.info("stripe event %s already processed", event["id"])
        return False
    return True


def _ignore(obj: dict) -> None:
    return None


def _payment_for_intent(obj: dict) -> Payment | None:
    """The payment a PaymentIntent was made for, locked; found by the intent id we recorded, or
    by our payment id in its metadata when the charge's outcome was not recorded yet."""
    intent_id = obj.get("id") or ""
    payments = Payment.objects.select_for_update()
    payment = payments.filter(gateway_reference=intent_id).first() if intent_id else None
    if payment is None:
        payment_id = (obj.get("metadata") or {}).get("payment_id", "")
        if str(payment_id).isdigit() and len(str(payment_id)) <= 18:  # fits a bigint
            payment = payments.filter(
                pk=int(payment_id), gateway_reference__in=["", intent_id]
            ).first()
    return payment


def _intent_succeeded(obj: dict) -> None:
    payment = _payment_for_intent(obj)
    if payment is None:
        log.info("payment_intent.succeeded for an unknown payment", extra={"intent": obj.get("id")})
        return
    payment_record_intent_outcome(payment=payment, intent_id=obj["id"], succeeded=True)


def _intent_failed(obj: dict) -> None:
    payment = _payment_for_intent(obj)
    if payment is None:
        log.info(
            "payment_intent.payment_failed for an unknown payment", extra={"intent": obj.get("id")}
        )
        return
    payment_record_intent_outcome(payment=payment, intent_id=obj["id"], succeeded=False)


@transaction.atomic(savepoint=False)
def payment_record_intent_outcome(*, payment: Payment, intent_id: str, succeeded: bool) -> bool:
    """Record that the payment's PaymentIntent succeeded or failed after the buyer was asked to
    authenticate (or after Stripe finished processing it). Only a payment awaiting
    authorisation, or left pending by the confirmation of its order, changes; the order's
    payment state follows, and a failure is told to the `on_payment_failed` hooks. Returns
    whether anything changed."""
    if succeeded:
        changes = {"state": PaymentState.PAID, "error": ""}
    else:
        with translation.override(_buyer_language(payment.order_id)):
            changes = {"state": PaymentState.FAILED, "error": _("The payment was not authorised.")}
    updated = Payment.objects.filter(_DECIDED_LATER, pk=payment.pk).update(
        gateway_reference=intent_id, **changes
    )
    if updated:
        Order.objects.filter(pk=payment.order_id).update(payment_state=changes["state"])
        if not succeeded:
            # The subscriptions app marks the proxy order failed and emails the buyer.
            payment_failed_notify(payment=payment, reason=changes["error"])
    return bool(updated)


def _buyer_language(order_id: int) -> str:
    language = (
        Order.objects.filter(pk=order_id).values_list("customer__language", flat=True).first()
    )
    return language or settings.LANGUAGE_CODE


def _card_updated(obj: dict) -> None:
    card = obj.get("card") or {}
    SavedCard.objects.filter(stripe_payment_method_id=obj.get("id", "")).update(
        brand=card.get("brand") or "",
        last4=card.get("last4") or "",
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )


_HANDLERS = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "payment_method.automatically_updated": _card_updated,
}
