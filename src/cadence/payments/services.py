"""Writes on payments."""

from __future__ import annotations

from django.db import transaction

from cadence.orders.models import Order, PaymentState
from cadence.payments.models import Payment


@transaction.atomic(savepoint=False)
def payments_void_for_order(*, order: Order) -> int:
    """Void the order's payments that were not taken (pending or awaiting authorisation)."""
    voided = Payment.objects.filter(
        order=order, state__in=[PaymentState.PENDING, PaymentState.REQUIRES_AUTHORIZATION]
    ).update(state=PaymentState.VOID)
    if voided:
        Order.objects.filter(pk=order.pk).update(payment_state=PaymentState.VOID)
    return voided
