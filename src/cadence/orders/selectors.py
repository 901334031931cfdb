"""Reads on orders: a shop's shipping methods, a cycle's orders and one order's page."""

from __future__ import annotations

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cadence.cycles.models import OrderCycle
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager
from cadence.orders.models import LineItem, Order, ShippingMethod


def shipping_methods_for_shop(*, shop: Enterprise) -> QuerySet[ShippingMethod]:
    """The shop's shipping methods, inactive ones included, by name."""
    return ShippingMethod.objects.filter(shop=shop).order_by("name", "id")


def _lines_with_products() -> Prefetch:
    return Prefetch("line_items", queryset=LineItem.objects.select_related("variant__product"))


def orders_of_cycle(*, order_cycle: OrderCycle) -> QuerySet[Order]:
    """The cycle's orders, by number, with their customer and lines (and products), and per
    order `item_count` (units given) and `short_lines` (lines given less than asked for), so
    a list can sort and filter on them. A fixed number of queries for any page of them."""
    # Per-order subqueries rather than a GROUP BY over the cycle's lines: sorted by number,
    # the database computes them for the page's rows only, and the count needs none.
    lines = LineItem.objects.filter(order=OuterRef("pk")).order_by().values("order")
    units = lines.annotate(n=Sum("quantity")).values("n")
    short = lines.filter(quantity__lt=F("requested_quantity")).annotate(n=Count("pk")).values("n")
    return (
        Order.objects.filter(order_cycle=order_cycle)
        .select_related("customer")
        .annotate(
            item_count=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)),
            short_lines=Coalesce(Subquery(short, output_field=IntegerField()), Value(0)),
        )
        .prefetch_related(_lines_with_products())
        .order_by("number", "id")
    )


def order_is_short(order_id: OuterRef) -> Exists:
    """True where the order (`order_id`, an outer reference) has a line given less than was
    asked for: a shortage."""
    return Exists(LineItem.objects.filter(order_id=order_id, quantity__lt=F("requested_quantity")))


def order_for_page(*, shop: Enterprise, order_id: int) -> Order | None:
    """One of the shop's orders with what its page shows: customer, cycle, shipping method,
    the proxy order it came from (if any: `proxy_order` is a reverse one-to-one), lines with
    their products, fees and payments with their methods. None when the shop has no such
    order."""
    return (
        Order.objects.filter(shop=shop, pk=order_id)
        .select_related("customer", "order_cycle", "shipping_method", "proxy_order")
        .prefetch_related(_lines_with_products(), "adjustments", "payments__method")
        .first()
    )


def orders_matching(orders: QuerySet[Order], q: str) -> QuerySet[Order]:
    """`orders` whose number or customer matches `q`: part of the number, the email or a name,
    or the customer's exact code (as the customers list finds them)."""
    q = q.strip()
    if not q:
        return orders
    return orders.filter(
        Q(number__icontains=q)
        | Q(customer__email__icontains=q)
        | Q(customer__first_name__icontains=q)
        | Q(customer__last_name__icontains=q)
        | Q(customer__code__iexact=q)
    )


def order_for_manager(*, user, order_id: int) -> Order:
    """The order if the user manages its shop (or is staff); raises NotFound otherwise."""
    return object_for_manager(
        user=user, queryset=Order.objects.select_related("shop"), pk=order_id, label=_("Order")
    )


def shipping_method_for_manager(*, user, shipping_method_id: int) -> ShippingMethod:
    """The shipping method if the user manages its shop (or is staff); raises NotFound
    otherwise."""
    return object_for_manager(
        user=user,
        queryset=ShippingMethod.objects.select_related("shop"),
        pk=shipping_method_id,
        label=_("Shipping method"),
    )


def _with_details(qs: QuerySet[Order]) -> QuerySet[Order]:
    # The subscription is reached through the reverse one-to-one `proxy_order` (orders do
    # not know subscriptions).
    return qs.select_related("proxy_order").prefetch_related("line_items", "payments")


def order_with_details(*, order_id: int) -> Order:
    """The order with its proxy order, lines and payments."""
    return _with_details(Order.objects.filter(pk=order_id)).get()


def orders_of_shop(
    *, shop: Enterprise, order_cycle_id: int | None = None, state: str | None = None
) -> QuerySet[Order]:
    """The shop's orders, newest first, optionally of one cycle and in one state, with their
    proxy order, lines and payments (a fixed number of queries)."""
    qs = Order.objects.filter(shop=shop)
    if order_cycle_id is not None:
        qs = qs.filter(order_cycle_id=order_cycle_id)
    if state is not None:
        qs = qs.filter(state=state)
    return _with_details(qs.order_by("-created_at", "-id"))


def cycle_has_orders(*, order_cycle: OrderCycle) -> bool:
    """Whether any order was placed in the cycle."""
    return Order.objects.filter(order_cycle=order_cycle).exists()
