"""Reads on orders' reference data: a shop's shipping methods."""

from __future__ import annotations

from django.db.models import QuerySet

from cadence.enterprises.models import Enterprise
from cadence.orders.models import ShippingMethod


def shipping_methods_for_shop(*, shop: Enterprise) -> QuerySet[ShippingMethod]:
    """The shop's shipping methods, inactive ones included, by name."""
    return ShippingMethod.objects.filter(shop=shop).order_by("name", "id")
