"""One function per "may this user see this object": the row, or NotFound.

Each is the tenancy rule of `enterprises.selectors.object_for_manager` applied through the
path from the object to its enterprise. Interfaces (API, pages) load objects only via these.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from cadence.catalog.models import Product, Variant
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.selectors import object_for_manager
from cadence.orders.models import Order, ShippingMethod
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import ProxyOrder, Subscription


def product_for_manager(*, user, product_id: int) -> Product:
    return object_for_manager(
        user=user,
        queryset=Product.objects.select_related("supplier"),
        pk=product_id,
        shop_field="supplier",
        label=_("Product"),
    )


def variant_for_manager(*, user, variant_id: int) -> Variant:
    return object_for_manager(
        user=user,
        queryset=Variant.objects.select_related("product__supplier"),
        pk=variant_id,
        shop_field="product__supplier",
        label=_("Variant"),
    )


def order_cycle_for_manager(*, user, order_cycle_id: int) -> OrderCycle:
    return object_for_manager(
        user=user,
        queryset=OrderCycle.objects.select_related("shop"),
        pk=order_cycle_id,
        label=_("Order cycle"),
    )


def schedule_for_manager(*, user, schedule_id: int) -> Schedule:
    return object_for_manager(
        user=user,
        queryset=Schedule.objects.filter(deleted_at__isnull=True).select_related("shop"),
        pk=schedule_id,
        label=_("Schedule"),
    )


def subscription_for_manager(*, user, subscription_id: int) -> Subscription:
    return object_for_manager(
        user=user,
        queryset=Subscription.objects.select_related("shop"),
        pk=subscription_id,
        label=_("Subscription"),
    )


def proxy_order_for_manager(*, user, proxy_order_id: int) -> ProxyOrder:
    return object_for_manager(
        user=user,
        queryset=ProxyOrder.objects.select_related("subscription__shop", "order_cycle"),
        pk=proxy_order_id,
        shop_field="subscription__shop",
        label=_("Proxy order"),
    )


def order_for_manager(*, user, order_id: int) -> Order:
    return object_for_manager(
        user=user, queryset=Order.objects.select_related("shop"), pk=order_id, label=_("Order")
    )


def payment_method_for_manager(*, user, payment_method_id: int) -> PaymentMethod:
    return object_for_manager(
        user=user,
        queryset=PaymentMethod.objects.select_related("shop"),
        pk=payment_method_id,
        label=_("Payment method"),
    )


def shipping_method_for_manager(*, user, shipping_method_id: int) -> ShippingMethod:
    return object_for_manager(
        user=user,
        queryset=ShippingMethod.objects.select_related("shop"),
        pk=shipping_method_id,
        label=_("Shipping method"),
    )
