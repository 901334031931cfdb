"""Writes on orders: many at once (placement), cancel and resume (with stock), recalculation
of totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.bulk import in_ids, insert_rows
from cadence.catalog.services import stock_release, stock_reserve_up_to
from cadence.enterprises.models import Enterprise
from cadence.errors import ErrorCollector
from cadence.orders.domain import Fee, Line, Totals, compute_totals
from cadence.orders.models import (
    Adjustment,
    LineItem,
    Order,
    OrderState,
    PaymentState,
    ShippingMethod,
)
from cadence.updates import apply_changes, reject_unknown_fields


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order for `orders_create_bulk`, as its caller decided it: who, where, the lines
    (variant id, quantity, quantity asked, unit price) and the totals of those lines."""

    number: str
    shop_id: int
    order_cycle_id: int
    customer_id: int
    user_id: int | None
    email: str
    currency: str
    shipping_method_id: int
    bill_address: dict[str, Any]
    ship_address: dict[str, Any]
    lines: Sequence[tuple[int, int, int, Decimal]]
    totals: Totals
    sync_snapshot: dict[str, Any]
    state: str = OrderState.COMPLETE
    payment_state: str = PaymentState.PENDING


_ORDER_COLUMNS = (
    "number",
    "shop_id",
    "order_cycle_id",
    "customer_id",
    "user_id",
    "email",
    "state",
    "payment_state",
    "currency",
    "shipping_method_id",
    "bill_address",
    "ship_address",
    "item_total",
    "fee_total",
    "total",
    "placed_at",
    "sync_snapshot",
)


def orders_create_bulk(*, orders: Sequence[NewOrder], now: datetime) -> list[int]:
    """Write these orders, placed at `now`, with their line items and fee adjustments: one
    INSERT per table whatever their number (`cadence.bulk.insert_rows`), in the caller's
    transaction. Returns the new order ids in the order of `orders`.

    Stock is not touched: the caller reserved it (`stock_reserve_bulk`)."""
    order_ids = insert_rows(
        Order,
        _ORDER_COLUMNS,
        [
            (
                o.number,
                o.shop_id,
                o.order_cycle_id,
                o.customer_id,
                o.user_id,
                o.email,
                o.state,
                o.payment_state,
                o.currency,
                o.shipping_method_id,
                o.bill_address,
                o.ship_address,
                o.totals.item_total,
                o.totals.fee_total,
                o.totals.total,
                now,
                o.sync_snapshot,
            )
            for o in orders
        ],
        now,
    )
    line_rows, adjustment_rows = [], []
    for order_id, o in zip(order_ids, orders, strict=True):
        line_rows += [(order_id, *line) for line in o.lines]
        adjustment_rows += [
            (order_id, f.adjustment_kind, f.label, f.amount) for f in o.totals.fee_lines
        ]
    insert_rows(
        LineItem,
        ("order_id", "variant_id", "quantity", "requested_quantity", "price"),
        line_rows,
        now,
        returning_ids=False,
    )
    insert_rows(
        Adjustment,
        ("order_id", "kind", "label", "amount"),
        adjustment_rows,
        now,
        returning_ids=False,
    )
    return order_ids


def orders_confirm(
    *, order_ids: Sequence[int], now: datetime, payment_state: str | None = None
) -> int:
    """Confirm placed orders (at their cycle's close), in one UPDATE in the caller's
    transaction, with their payment's state when given. Guarded: only orders still complete
    move (not one canceled meanwhile, nor one another worker confirmed); returns how many
    did, for the caller to compare with what it asked."""
    values: dict[str, Any] = {"state": OrderState.CONFIRMED, "confirmed_at": now, "updated_at": now}
    if payment_state is not None:
        values["payment_state"] = payment_state
    return Order.objects.filter(in_ids("pk", order_ids), state=OrderState.COMPLETE).update(**values)


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
    order.item_total, order.fee_total, order.total = (
        totals.item_total,
        totals.fee_total,
        totals.total,
    )
    order.save(update_fields=["item_total", "fee_total", "total", "updated_at"])
    return order


# --- Shipping methods --------------------------------------------------------------------

SHIPPING_METHOD_FIELDS = ("name", "description", "fee", "requires_address", "active")


def _check_shipping_method(values: dict[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    cleaned = dict(values)
    if "name" in values:
        cleaned["name"] = (values["name"] or "").strip()
        if not cleaned["name"]:
            errors.add("name", _("can't be blank"))
    if "description" in values:
        cleaned["description"] = (values["description"] or "").strip()
    if "fee" in values and (values["fee"] is None or Decimal(values["fee"]) < 0):
        errors.add("fee", _("must be 0 or more"))
    return cleaned


@transaction.atomic
def shipping_method_create(
    *,
    shop: Enterprise,
    name: str,
    description: str = "",
    fee: Decimal = Decimal("0"),
    requires_address: bool = True,
) -> ShippingMethod:
    """Add a shipping method to the shop. Raises ValidationFailed (name, fee)."""
    errors = ErrorCollector()
    values = _check_shipping_method(
        {
            "name": name,
            "description": description,
            "fee": fee,
            "requires_address": requires_address,
        },
        errors,
    )
    errors.raise_if_any()
    return ShippingMethod.objects.create(shop=shop, **values)


@transaction.atomic
def shipping_method_update(
    *, shipping_method: ShippingMethod, changes: dict[str, Any]
) -> ShippingMethod:
    """Change some fields of a shipping method. Raises ValidationFailed."""
    errors = ErrorCollector()
    reject_unknown_fields(changes, SHIPPING_METHOD_FIELDS, errors)
    values = _check_shipping_method(changes, errors)
    errors.raise_if_any()
    return apply_changes(shipping_method, values)
