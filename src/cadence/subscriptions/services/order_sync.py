"""Carry a subscription's edits to its orders already placed in cycles still open.

Placement records in `order.sync_snapshot` what the subscription wrote into the order, part
by part (line quantities, shipping and payment method, addresses). A part of the order that
still equals its snapshot was not touched by hand, so the edit is applied to it and the
snapshot follows; a part that differs was changed by hand since placement and is left
alone, and the manager is told ("order could not be updated": order, cycle, what differs).

Orders of closed cycles, canceled and confirmed orders are never touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.models import Variant
from cadence.catalog.services import stock_release, stock_reserve
from cadence.cycles.selectors import current_q
from cadence.orders.domain import fees_for
from cadence.orders.models import LineItem, Order, OrderState, PaymentState
from cadence.orders.services import order_recalculate
from cadence.payments.models import Payment, PaymentMethod
from cadence.subscriptions.models import ProxyOrderState, Subscription


def order_payment_method(*, order: Order) -> PaymentMethod | None:
    """The method of the order's latest payment (the one the order is to be paid with)."""
    payment = order.payments.select_related("method").order_by("-id").first()
    return payment.method if payment else None


def order_refresh_totals(
    *, order: Order, payment_method: PaymentMethod | None, new_payment: bool = False
) -> Order:
    """Recompute fees and totals (cycle fees, shipping fee, payment fee); the pending payment
    follows the new total. With `new_payment`, pending payments are voided and a new pending
    one is made with `payment_method` (a changed method, a resumed order)."""
    shipping = order.shipping_method
    fees = fees_for(
        cycle_fees=order.order_cycle.fees.values_list("name", "kind", "amount"),
        shipping=(shipping.name, shipping.fee) if shipping else None,
        payment=(payment_method.name, payment_method.fee, payment_method.fee_percent)
        if payment_method
        else None,
    )
    order_recalculate(order=order, fees=fees)
    pending = order.payments.filter(state=PaymentState.PENDING)
    if new_payment:
        pending.update(state=PaymentState.VOID)
        if payment_method is not None:
            Payment.objects.create(
                order=order, method=payment_method, amount=order.total, state=PaymentState.PENDING
            )
        order.payment_state = PaymentState.PENDING
        order.save(update_fields=["payment_state", "updated_at"])
    else:
        pending.update(amount=order.total)
    return order


def _issue(order: Order, text: str) -> dict[str, Any]:
    return {"order_id": order.pk, "order_cycle_id": order.order_cycle_id, "issue": text}


class _OrderEdit:
    """Applies one subscription to one placed order; collects the issues."""

    def __init__(self, subscription: Subscription, order: Order, variants: dict[int, Variant]):
        self.subscription = subscription
        self.order = order
        self.variants = variants
        self.issues: list[dict[str, Any]] = []
        self.changed = False
        self.snapshot = dict(order.sync_snapshot or {})

    def issue(self, text: str) -> None:
        self.issues.append(_issue(self.order, text))

    def _part(self, key: str, order_value: Any, wanted: Any, differs_text: str) -> None:
        # A missing snapshot part means placement recorded nothing for it: take the order as
        # it is as what was written.
        written = self.snapshot.get(key, order_value)
        if wanted == written:
            return
        if order_value != written:
            if order_value == wanted:
                self.snapshot[key] = wanted
            else:
                self.issue(differs_text)
            return
        setattr(self.order, key, wanted)
        self.snapshot[key] = wanted
        self.changed = True

    def addresses_and_shipping(self) -> None:
        sub = self.subscription
        self._part(
            "bill_address",
            self.order.bill_address,
            sub.bill_address,
            _("Billing address changed on the order"),
        )
        self._part(
            "ship_address",
            self.order.ship_address,
            sub.ship_address,
            _("Shipping address changed on the order"),
        )
        self._part(
            "shipping_method_id",
            self.order.shipping_method_id,
            sub.shipping_method_id,
            _("Shipping method changed on the order"),
        )

    def payment_method(self) -> PaymentMethod | None:
        """Returns the method the order is now to be paid with; switches it when the order
        still has the one written at placement."""
        current = order_payment_method(order=self.order)
        current_id = current.pk if current else None
        wanted = self.subscription.payment_method
        written = self.snapshot.get("payment_method_id", current_id)
        if wanted.pk == written:
            return current
        if current_id != written:
            if current_id == wanted.pk:
                self.snapshot["payment_method_id"] = wanted.pk
            else:
                self.issue(_("Payment method changed on the order"))
            return current
        self.snapshot["payment_method_id"] = wanted.pk
        self.changed = True
        self.new_payment = True
        return wanted

    def _line(
        self,
        variant_id: int,
        line: LineItem | None,
        written_qty: int | None,
        wanted_qty: int | None,
        offered: set[int],
    ) -> None:
        variant = self.variants.get(variant_id)
        name = variant.full_name if variant else str(variant_id)
        asked_before = line.requested_quantity if line is not None else written_qty
        if wanted_qty == asked_before or (wanted_qty is None and written_qty is None):
            return
        current_qty = line.quantity if line is not None else None
        if current_qty != written_qty:
            # Changed by hand since placement (or added or removed by hand).
            if current_qty == wanted_qty:
                self._written_set(variant_id, wanted_qty)
            else:
                self.issue(_("%(variant)s quantity changed on the order") % {"variant": name})
            return
        if wanted_qty is None:
            # Both None returned above, so the order still has the line written at placement.
            assert line is not None
            stock_release(variant_id=variant_id, quantity=line.quantity)
            line.delete()
            self._written_set(variant_id, None)
            self.changed = True
            return
        deliverable = variant is not None and not variant.is_deleted and variant_id in offered
        target = wanted_qty if deliverable else 0
        if line is None:
            if variant is None or not deliverable:
                self.issue(
                    _("%(variant)s is not available in this order cycle") % {"variant": name}
                )
                return
            if not stock_reserve(variant_id=variant_id, quantity=target):
                self.issue(_("Insufficient stock for %(variant)s") % {"variant": name})
                return
            LineItem.objects.create(
                order=self.order,
                variant_id=variant_id,
                quantity=target,
                requested_quantity=wanted_qty,
                price=variant.price,
            )
        else:
            delta = target - line.quantity
            if delta > 0 and not stock_reserve(variant_id=variant_id, quantity=delta):
                self.issue(_("Insufficient stock for %(variant)s") % {"variant": name})
                return
            if delta < 0:
                stock_release(variant_id=variant_id, quantity=-delta)
            line.quantity, line.requested_quantity = target, wanted_qty
            line.save(update_fields=["quantity", "requested_quantity"])
        self._written_set(variant_id, target)
        self.changed = True

    def _written_set(self, variant_id: int, quantity: int | None) -> None:
        lines = dict(self.snapshot.get("line_items") or {})
        if quantity is None:
            lines.pop(str(variant_id), None)
        else:
            lines[str(variant_id)] = quantity
        self.snapshot["line_items"] = lines

    def apply(self) -> list[dict[str, Any]]:
        self.new_payment = False
        self.addresses_and_shipping()
        method = self.payment_method()
        self._apply_lines()
        self.order.sync_snapshot = self.snapshot
        self.order.save(
            update_fields=[
                "bill_address",
                "ship_address",
                "shipping_method",
                "sync_snapshot",
                "updated_at",
            ]
        )
        if self.changed:
            order_refresh_totals(
                order=self.order, payment_method=method, new_payment=self.new_payment
            )
        return self.issues

    def _apply_lines(self) -> None:
        order_lines = {li.variant_id: li for li in self.order.line_items.all()}
        if "line_items" in self.snapshot:
            written = {int(k): v for k, v in self.snapshot["line_items"].items()}
        else:
            written = {vid: li.quantity for vid, li in order_lines.items()}
            self.snapshot["line_items"] = {str(k): v for k, v in written.items()}
        wanted = {li.variant_id: li.quantity for li in self.subscription.line_items.all()}
        offered = set(self.order.order_cycle.variants.values_list("pk", flat=True))
        for variant_id in sorted(set(written) | set(wanted) | set(order_lines)):
            self._line(
                variant_id,
                order_lines.get(variant_id),
                written.get(variant_id),
                wanted.get(variant_id),
                offered,
            )


@transaction.atomic(savepoint=False)
def propagate_subscription_changes(
    *, subscription: Subscription, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Apply the subscription to its placed orders of cycles still open, part by part.
    Returns the issues: [{"order_id", "order_cycle_id", "issue"}], one per part left alone."""
    now = now or timezone.now()
    order_ids = list(
        subscription.proxy_orders.filter(
            current_q(now, prefix="order_cycle__"),
            state=ProxyOrderState.PLACED,
            order__state=OrderState.COMPLETE,
        ).values_list("order_id", flat=True)
    )
    if not order_ids:
        return []
    # Lock the orders in pk order, the same order every writer uses.
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids, state=OrderState.COMPLETE)
        .select_related("order_cycle", "shipping_method")
        .order_by("pk")
    )
    variant_ids = set(subscription.line_items.values_list("variant_id", flat=True))
    variant_ids |= set(
        LineItem.objects.filter(order_id__in=order_ids).values_list("variant_id", flat=True)
    )
    variants = Variant.objects.select_related("product").in_bulk(variant_ids)
    issues: list[dict[str, Any]] = []
    for order in orders:
        issues.extend(_OrderEdit(subscription, order, variants).apply())
    return issues
