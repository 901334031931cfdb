"""Stripe webhooks at /stripe/webhook: the signature and the event's shape are checked here,
then `payments.stripe_events` applies the event once (see there)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cadence.payments.gateways import stripe as gateway
from cadence.payments.stripe_events import payment_record_intent_outcome, stripe_event_process

log = logging.getLogger(__name__)

# Applying an event lives in `stripe_events`; kept importable from here too.
__all__ = ["malformed_event_problem", "payment_record_intent_outcome", "stripe_webhook"]


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
    if problem or not isinstance(event, dict):
        shown = event if isinstance(event, dict) else {}
        # Signed with our secret, yet not the shape Stripe sends: a bug or a change on
        # Stripe's side worth knowing about, answered 400 so that nothing half-applies.
        log.warning(
            "stripe webhook refused: %s",
            problem,
            extra={
                "stripe_event": str(shown.get("id"))[:100],
                "stripe_type": str(shown.get("type"))[:100],
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
