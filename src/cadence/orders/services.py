"""Writes on orders: cancel and resume (with stock), recalculation of totals."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cadence.catalog.services import stock_release, stock_reserve_up_to
from cadence.orders.domain import Fee, Line, compute_totals
from cadence.orders.models import Adjustment, Order, OrderState


@transaction.atomic(savepoint=False)
def order_cancel(*, order: Order, now: datetime | None = None) -> bool:
    """Cancel a placed order and give its stock back. False when it was not placed (no-op).

    The state change is a guarded UPDATE, so two concurrent cancels release stock once.
    """
    now = now or timezone.now()
    changed = Order.objects.filter(pk=order.pk, state=OrderState.COMPLETE).update(
        state=OrderState.CANCELED, canceled_at=now
    )
    if not changed:
        return False
    for variant_id, quantity in order.line_items.values_list("variant_id", "quantity"):
        stock_release(variant_id=variant_id, quantity=quantity)
    order.state, order.canceled_at = OrderState.CANCELED, now
    return True


@transaction.atomic(savepoint=False)
def order_resume(*, order: Order) -> bool:
    """Re-instate a canceled order, taking back the stock still available (capping the lines).

    Returns False when the order was not canceled.
    """
    changed = Order.objects.filter(pk=order.pk, state=OrderState.CANCELED).update(
        state=OrderState.COMPLETE, canceled_at=None
    )
    if not changed:
        return False
    for line in order.line_items.all():
        taken = stock_reserve_up_to(variant_id=line.variant_id, quantity=line.quantity)
        if taken != line.quantity:
            line.quantity = taken
            line.save(update_fields=["quantity"])
    order.state, order.canceled_at = OrderState.COMPLETE, None
    return True


@transaction.atomic(savepoint=False)
def order_recalculate(*, order: Order, fees: list[Fee]) -> Order:
    """Recompute item total, fee adjustments and total from the lines and the given fees."""
    lines = [Line(li.price, li.quantity) for li in order.line_items.all()]
    totals = compute_totals(lines, fees, order.currency)
    order.adjustments.all().delete()
    Adjustment.objects.bulk_create(
        Adjustment(order=order, kind=f.adjustment_kind, label=f.label, amount=f.amount)
        for f in totals.fee_lines
    )
    order.item_total, order.fee_total, order.total = totals.item_total, totals.fee_total, totals.total
    order.save(update_fields=["item_total", "fee_total", "total", "updated_at"])
    return order
