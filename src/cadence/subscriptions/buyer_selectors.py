"""Reads for a buyer's own orders and subscriptions, shared by the buyer API and the account
pages.

A buyer is a user; they reach the orders and subscriptions of the customer rows that are them
(linked account or same email, see `customers_of_buyer`). Everything here is scoped that way,
so an id of someone else's row is simply not found.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cadence.customers.selectors import customers_of_buyer
from cadence.cycles.domain import is_current
from cadence.cycles.selectors import closed_q, current_q
from cadence.errors import NotFound
from cadence.orders.models import Order, OrderState
from cadence.subscriptions.models import ProxyOrder, Subscription


def buyer_orders(user) -> QuerySet[Order]:
    """The buyer's orders, newest first, with what a listing shows (shop, cycle, lines)."""
    return (
        Order.objects.filter(customer__in=customers_of_buyer(user, include_removed=True))
        .select_related("shop", "order_cycle", "shipping_method")
        .prefetch_related("line_items__variant__product")
        .order_by("-created_at", "-pk")
    )


def buyer_order_get(*, user, order_id: int) -> Order:
    """One of the buyer's orders; raises NotFound for any other id."""
    order = buyer_orders(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def changes_allowed_until(order: Order) -> datetime | None:
    """Until when the buyer may change this order (the close of its cycle, UTC), or None when
    the shop does not allow changes or the order is no longer placed (canceled, confirmed).

    It does not look at the clock: a cycle that closed a minute ago still answers its close,
    so callers that act on it also check `order_changes_allowed`."""
    if not order.shop.allow_order_changes or order.state != OrderState.COMPLETE:
        return None
    return order.order_cycle.closes_at


def order_changes_allowed(order: Order, *, now: datetime) -> bool:
    """Whether the buyer may change this order now (the rule `buyer_order_update` enforces)."""
    until = changes_allowed_until(order)
    return until is not None and until > now


def buyer_subscriptions(user) -> QuerySet[Subscription]:
    """The buyer's subscriptions, newest first, with their lines and deliveries (proxy orders,
    by cycle close) loaded."""
    return (
        Subscription.objects.filter(customer__in=customers_of_buyer(user, include_removed=True))
        .select_related("shop", "schedule")
        .prefetch_related(
            "line_items__variant__product", "proxy_orders__order_cycle", "proxy_orders__order"
        )
        .order_by("-created_at", "-pk")
    )


def delivery_changes_allowed(proxy_order: ProxyOrder, *, shop, now: datetime) -> bool:
    """Whether the buyer may skip or resume this delivery now: the shop allows changes and its
    cycle has not closed. `shop` is passed so a listing does not load it once per delivery."""
    return bool(shop.allow_order_changes) and is_current(
        closes_at=proxy_order.order_cycle.closes_at, now=now
    )


def buyer_current_orders(user, *, now: datetime) -> QuerySet[Order]:
    """The buyer's orders whose cycle has not closed (upcoming or open), the soonest to close
    first."""
    return (
        buyer_orders(user)
        .filter(current_q(now, prefix="order_cycle__"))
        .order_by("order_cycle__closes_at", "pk")
    )


def buyer_past_orders(user, *, now: datetime) -> QuerySet[Order]:
    """The buyer's orders whose cycle has closed, newest first."""
    return buyer_orders(user).filter(closed_q(now, prefix="order_cycle__"))
