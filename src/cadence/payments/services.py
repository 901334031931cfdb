"""Writes on payments, and the charges of confirmed orders around the gateways' sends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cadence.bulk import in_ids, insert_rows
from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.errors import ErrorCollector
from cadence.orders.models import Order, PaymentState
from cadence.payments.gateways import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PreparedCharge,
    gateway_for,
)
from cadence.payments.models import (
    ChargeConsent,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    SavedCard,
    StripeCustomer,
)
from cadence.updates import apply_changes, reject_unknown_fields


def payments_create_pending(*, payments: Sequence[tuple[int, int, Decimal]], now: datetime) -> None:
    """Pending payments, one per (order id, payment method id, amount), in one INSERT in the
    caller's transaction (placement writes one per placed order)."""
    insert_rows(
        Payment,
        ("order_id", "method_id", "amount", "state"),
        [
            (order_id, method_id, amount, PaymentState.PENDING)
            for order_id, method_id, amount in payments
        ],
        now,
        returning_ids=False,
    )


@transaction.atomic(savepoint=False)
def payments_void_for_order(*, order: Order) -> int:
    """Void the order's payments that were not taken (pending or awaiting authorisation)."""
    voided = Payment.objects.filter(
        order=order, state__in=[PaymentState.PENDING, PaymentState.REQUIRES_AUTHORIZATION]
    ).update(state=PaymentState.VOID)
    if voided:
        Order.objects.filter(pk=order.pk).update(payment_state=PaymentState.VOID)
    return voided


# --- Charges ------------------------------------------------------------------------------


_NO_AUTHORISED_CARD = gettext_noop("no authorised card")
_NO_USABLE_CARD = gettext_noop("no usable card")


def _refused(message: str, language: str) -> ChargeResult:
    """A charge not sent, failed with `message` in the buyer's language."""
    with translation.override(language):
        return ChargeResult(ChargeStatus.FAILED, error=_(message))


def _languages(requests: Sequence[ChargeRequest]) -> dict[tuple[int, int], str]:
    """The buyers' languages, by (shop id, user id): their customer record's at the shop."""
    users = {r.user_id for r in requests if r.user_id is not None}
    return {
        (shop_id, user_id): language
        for shop_id, user_id, language in Customer.objects.filter(
            shop_id__in={r.shop_id for r in requests},
            user_id__in=users,
            deleted_at__isnull=True,
        ).values_list("shop_id", "user_id", "language")
        if language
    }


def charges_prepare(
    requests: Sequence[ChargeRequest],
) -> dict[int, ChargeResult | PreparedCharge]:
    """What each charge needs, by payment id, read for the whole batch in a few queries:
    a PreparedCharge to hand to the gateway's `send`, or the outcome when nothing is to be
    sent (a manual method: PENDING, collected by hand; no usable or authorised card: FAILED).

    Consent and card are checked at charge time: the buyer may have withdrawn their consent
    or removed their card since the subscription was created. A payment whose charge was
    already made (its reference written down by `charge_remember`) is looked up, not made
    again."""
    languages = _languages(requests)
    payments = {
        pk: (created_at, reference)
        for pk, created_at, reference in Payment.objects.filter(
            pk__in=[r.payment_id for r in requests]
        ).values_list("pk", "created_at", "gateway_reference")
    }
    users = {r.user_id for r in requests if r.user_id is not None}
    cards = dict(
        SavedCard.objects.filter(
            user_id__in=users, is_default=True, usable_off_session=True
        ).values_list("user_id", "stripe_payment_method_id")
    )
    customers = dict(
        StripeCustomer.objects.filter(user_id__in=users).values_list(
            "user_id", "stripe_customer_id"
        )
    )
    consents = set(
        ChargeConsent.objects.filter(
            user_id__in=users,
            shop_id__in={r.shop_id for r in requests},
            withdrawn_at__isnull=True,
        ).values_list("user_id", "shop_id")
    )
    prepared: dict[int, ChargeResult | PreparedCharge] = {}
    for request in requests:
        gateway = gateway_for(request.method_kind)
        if gateway is None:
            prepared[request.payment_id] = ChargeResult(ChargeStatus.PENDING)
            continue
        user_id = request.user_id
        language = (
            languages.get((request.shop_id, user_id), settings.LANGUAGE_CODE)
            if user_id is not None
            else settings.LANGUAGE_CODE
        )
        if gateway.needs_saved_card and user_id is None:  # no account: no saved card
            prepared[request.payment_id] = _refused(_NO_AUTHORISED_CARD, language)
            continue
        if request.payment_id not in payments:
            prepared[request.payment_id] = _refused(_NO_USABLE_CARD, language)
            continue
        created_at, reference = payments[request.payment_id]
        if reference:
            prepared[request.payment_id] = PreparedCharge(
                request, language=language, payment_created_at=created_at, known_reference=reference
            )
            continue
        if gateway.needs_saved_card and (
            user_id not in cards
            or user_id not in customers
            or (user_id, request.shop_id) not in consents
        ):
            prepared[request.payment_id] = _refused(_NO_AUTHORISED_CARD, language)
            continue
        prepared[request.payment_id] = PreparedCharge(
            request,
            language=language,
            payment_created_at=created_at,
            payment_method_id=cards.get(user_id, "") if user_id is not None else "",
            customer_id=customers.get(user_id, "") if user_id is not None else "",
        )
    return prepared


def charge_send(prepared: PreparedCharge) -> ChargeResult:
    """The gateway's network calls for one prepared charge; no database access, so any
    thread may run it. An exception means nothing is known: the caller retries later."""
    gateway = gateway_for(prepared.request.method_kind)
    if gateway is None:  # prepared only for a gateway's kind
        return ChargeResult(ChargeStatus.PENDING)
    return gateway.send(prepared)


def charge_remember(*, payment_id: int, result: ChargeResult) -> None:
    """Write the charge's reference on its payment as soon as it is known, so that a crash
    before the outcome is recorded still leaves a way back to it (the next preparation
    looks it up instead of charging again)."""
    if result.reference:
        Payment.objects.filter(pk=payment_id, gateway_reference="").update(
            gateway_reference=result.reference
        )


_PAYMENT_STATE = {
    ChargeStatus.PENDING: PaymentState.PENDING,
    ChargeStatus.SUCCEEDED: PaymentState.PAID,
    ChargeStatus.FAILED: PaymentState.FAILED,
    ChargeStatus.REQUIRES_ACTION: PaymentState.REQUIRES_AUTHORIZATION,
}


def payment_state_after(result: ChargeResult) -> str:
    """The state a payment takes from a charge's decided outcome (not RETRY)."""
    return _PAYMENT_STATE[result.status]


def payment_record_charge(
    *, payment: Payment, amount: Decimal, result: ChargeResult, now: datetime
) -> str:
    """Record a charge's decided outcome on its payment, in the caller's transaction: its
    state, the reason of a failure, the charge's reference, and the amount charged (the
    order's final total). Returns the payment's new state."""
    state = payment_state_after(result)
    Payment.objects.filter(pk=payment.pk).update(
        amount=amount,
        state=state,
        error=result.error if result.status == ChargeStatus.FAILED else "",
        gateway_reference=result.reference or payment.gateway_reference,
        updated_at=now,
    )
    return state


def payments_take_order_totals(*, payment_ids: Sequence[int], now: datetime) -> int:
    """Set pending payments' amount to their order's total (final at confirmation, edits
    since placement included), in one UPDATE in the caller's transaction. Guarded: only
    payments still pending change; returns how many did."""
    return Payment.objects.filter(in_ids("pk", payment_ids), state=PaymentState.PENDING).update(
        amount=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("total")[:1]),
        updated_at=now,
    )


def payment_charge(request: ChargeRequest) -> ChargeResult:
    """Prepare, send and remember one charge (`charges_prepare` of one). Call it outside
    any database transaction: it makes network calls."""
    prepared = charges_prepare([request])[request.payment_id]
    if isinstance(prepared, ChargeResult):
        return prepared
    result = charge_send(prepared)
    charge_remember(payment_id=request.payment_id, result=result)
    return result


# --- Hooks ------------------------------------------------------------------------------

# Called, inside the transaction that records it, when a payment that the confirmation of its
# order left undecided (awaiting the buyer's authentication, or pending) fails after all
# (`payment=`, `reason=` in the buyer's language).
# Apps that depend on payments register here (subscriptions, in its AppConfig.ready), so
# payments never imports them. A hook that raises rolls the recording back.
on_payment_failed: list[Callable[..., None]] = []


def payment_failed_notify(*, payment: Payment, reason: str) -> None:
    for hook in list(on_payment_failed):
        hook(payment=payment, reason=reason)


# --- Payment methods ---------------------------------------------------------------------

# What an update may change: the kind is set at creation, since subscriptions were checked
# against it (only manual and Stripe methods serve them).
PAYMENT_METHOD_FIELDS = (
    "name",
    "description",
    "fee",
    "fee_percent",
    "stripe_account",
    "active",
)


def _check_payment_method(values: dict[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    cleaned = dict(values)
    if "name" in values:
        cleaned["name"] = (values["name"] or "").strip()
        if not cleaned["name"]:
            errors.add("name", _("can't be blank"))
    if "description" in values:
        cleaned["description"] = (values["description"] or "").strip()
    if "kind" in values and values["kind"] not in PaymentMethodKind.values:
        errors.add(
            "kind",
            _("must be one of: %(choices)s") % {"choices": ", ".join(PaymentMethodKind.values)},
        )
    for field in ("fee", "fee_percent"):
        if field in values:
            if values[field] is None or Decimal(values[field]) < 0:
                errors.add(field, _("must be 0 or more"))
    if (
        "fee_percent" in values
        and values["fee_percent"] is not None
        and Decimal(values["fee_percent"]) > 100
    ):
        errors.add("fee_percent", _("must be 100 or less"))
    if "stripe_account" in values:
        cleaned["stripe_account"] = (values["stripe_account"] or "").strip()
        if cleaned["stripe_account"] and not cleaned["stripe_account"].startswith("acct_"):
            errors.add("stripe_account", _("must be a Stripe account id (acct_…)"))
    return cleaned


@transaction.atomic
def payment_method_create(
    *,
    shop: Enterprise,
    name: str,
    kind: str,
    description: str = "",
    fee: Decimal = Decimal("0"),
    fee_percent: Decimal = Decimal("0"),
    stripe_account: str = "",
) -> PaymentMethod:
    """Add a payment method to the shop. Raises ValidationFailed (name, kind, fee…)."""
    errors = ErrorCollector()
    values = _check_payment_method(
        {
            "name": name,
            "kind": kind,
            "description": description,
            "fee": fee,
            "fee_percent": fee_percent,
            "stripe_account": stripe_account,
        },
        errors,
    )
    if values["stripe_account"] and kind != PaymentMethodKind.STRIPE:
        errors.add("stripe_account", _("only a Stripe method has a connected account"))
    errors.raise_if_any()
    return PaymentMethod.objects.create(shop=shop, **values)


@transaction.atomic
def payment_method_update(
    *, payment_method: PaymentMethod, changes: dict[str, Any]
) -> PaymentMethod:
    """Change some fields of a payment method (not its kind). Raises ValidationFailed."""
    errors = ErrorCollector()
    reject_unknown_fields(changes, PAYMENT_METHOD_FIELDS, errors)
    values = _check_payment_method(changes, errors)
    if values.get("stripe_account") and payment_method.kind != PaymentMethodKind.STRIPE:
        errors.add("stripe_account", _("only a Stripe method has a connected account"))
    errors.raise_if_any()
    return apply_changes(payment_method, values)
