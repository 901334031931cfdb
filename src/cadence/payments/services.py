"""Writes on payments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cadence.bulk import insert_rows
from cadence.enterprises.models import Enterprise
from cadence.errors import ErrorCollector
from cadence.orders.models import Order, PaymentState
from cadence.payments.models import Payment, PaymentMethod, PaymentMethodKind
from cadence.updates import apply_changes, reject_unknown_fields


def payments_create_pending(
    *, payments: Sequence[tuple[int, int, Decimal]], now: datetime
) -> list[int]:
    """Pending payments, one per (order id, payment method id, amount), in one INSERT in the
    caller's transaction (placement writes one per placed order). Returns the new ids."""
    return insert_rows(
        Payment,
        ("order_id", "method_id", "amount", "state"),
        [
            (order_id, method_id, amount, PaymentState.PENDING)
            for order_id, method_id, amount in payments
        ],
        now,
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
