"""Stripe's notices applied to our rows: a PaymentIntent's later outcome, a card Stripe
updated. The payments service behind the webhook (`payments.webhooks`) and the page where a
buyer completes an authentication.

Each event is processed once: its id is inserted into `StripeEvent` in the same transaction as
its effects, and the unique constraint (not an `exists()` check) makes a replay or a concurrent
delivery a no-op. A handler that fails rolls the insert back, so Stripe's redelivery retries it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from cadence.orders.models import Order, OrderState, PaymentState
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
