"""What a buyer may do to their own orders and deliveries, where the shop allows changes.

A buyer reaches only the orders of their own customer rows; anything else is NotFound, like
something that does not exist. Until the cycle closes they may lower quantities, remove
lines, cancel an order, and skip or resume a delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.services import stock_release
from cadence.customers.selectors import customers_of_buyer
from cadence.cycles.domain import order_cycle_is_closed
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict, ErrorCollector, NotFound, PermissionDenied
from cadence.orders.models import LineItem, Order, OrderState
from cadence.orders.services import order_cancel
from cadence.payments.services import payments_void_for_order
from cadence.subscriptions.models import ProxyOrder
from cadence.subscriptions.services import lifecycle
from cadence.subscriptions.services.order_sync import order_payment_method, order_refresh_totals


def _require_changes_allowed(shop: Enterprise) -> None:
    if not shop.allow_order_changes:
        raise PermissionDenied(
            _("%(shop)s does not allow changes to orders.") % {"shop": shop.name}
        )


def _changeable_order(*, user: User, order_id: int, now: datetime) -> Order:
    """The buyer's order, locked. Raises NotFound, PermissionDenied (the shop does not
    allow changes) or Conflict (the cycle closed, or the order is canceled)."""
    order = (
        Order.objects.filter(customer__in=customers_of_buyer(user))
        .select_for_update(of=("self",))
        .select_related("shop", "order_cycle")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound(_("Order not found."))
    _require_changes_allowed(order.shop)
    if order_cycle_is_closed(order.order_cycle, now=now) or order.state == OrderState.CONFIRMED:
        raise Conflict(_("This order's cycle has closed: it can no longer be changed."))
    if order.state != OrderState.COMPLETE:
        raise Conflict(_("This order is canceled: it can no longer be changed."))
    return order


@transaction.atomic
def buyer_order_update(
    *, user: User, order_id: int, line_items: Sequence[tuple[int, int]], now: datetime | None = None
) -> Order:
    """Lower quantities or remove lines (quantity 0), given as (variant_id, quantity).

    Raises NotFound, PermissionDenied, Conflict, or ValidationFailed on `line_items` (a
    variant not in the order, given twice, or a quantity raised)."""
    now = now or timezone.now()
    order = _changeable_order(user=user, order_id=order_id, now=now)
    lines = {li.variant_id: li for li in LineItem.objects.select_for_update().filter(order=order)}
    errors = ErrorCollector()
    seen: set[int] = set()
    for variant_id, quantity in line_items:
        line = lines.get(variant_id)
        if line is None:
            errors.add("line_items", _("Variant %(id)s is not in this order.") % {"id": variant_id})
        elif variant_id in seen:
            errors.add("line_items", _("Variant %(id)s appears twice.") % {"id": variant_id})
        elif quantity < 0:
            errors.add("line_items", _("Quantity must be 0 or more."))
        elif quantity > line.quantity:
            errors.add(
                "line_items",
                _("Quantities can only be lowered (variant %(id)s has %(quantity)s).")
                % {"id": variant_id, "quantity": line.quantity},
            )
        seen.add(variant_id)
    errors.raise_if_any()
    for variant_id, quantity in line_items:
        line = lines[variant_id]
        if quantity < line.quantity:
            stock_release(variant_id=variant_id, quantity=line.quantity - quantity)
            line.quantity = quantity
            line.save(update_fields=["quantity"])
    order_refresh_totals(order=order, payment_method=order_payment_method(order=order))
    return order


@transaction.atomic
def buyer_order_cancel(*, user: User, order_id: int, now: datetime | None = None) -> Order:
    """Cancel an order still open to changes: its stock is released, its payment voided."""
    now = now or timezone.now()
    order = _changeable_order(user=user, order_id=order_id, now=now)
    proxy = ProxyOrder.objects.filter(order=order).first()
    if proxy is not None:
        # A subscription's order: skipping the delivery cancels the order and keeps the
        # proxy order's state in step, so confirmation leaves it alone.
        lifecycle.proxy_order_cancel(proxy_order=proxy, actor=user, now=now)
    else:
        order_cancel(order=order, now=now)
        payments_void_for_order(order=order)
    return order


def _own_delivery(*, user: User, proxy_order_id: int) -> ProxyOrder:
    proxy = (
        ProxyOrder.objects.filter(subscription__customer__in=customers_of_buyer(user))
        .select_related("subscription__shop")
        .filter(pk=proxy_order_id)
        .first()
    )
    if proxy is None:
        raise NotFound(_("Delivery not found."))
    _require_changes_allowed(proxy.subscription.shop)
    return proxy


def buyer_delivery_skip(
    *, user: User, proxy_order_id: int, now: datetime | None = None
) -> ProxyOrder:
    """Skip one delivery (Conflict once its cycle has closed)."""
    proxy = _own_delivery(user=user, proxy_order_id=proxy_order_id)
    return lifecycle.proxy_order_cancel(proxy_order=proxy, actor=user, now=now)


def buyer_delivery_resume(
    *, user: User, proxy_order_id: int, now: datetime | None = None
) -> ProxyOrder:
    """Resume a skipped delivery (Conflict once its cycle has closed)."""
    proxy = _own_delivery(user=user, proxy_order_id=proxy_order_id)
    return lifecycle.proxy_order_resume(proxy_order=proxy, actor=user, now=now)
