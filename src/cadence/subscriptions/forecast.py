"""The forecast of an order cycle: what its subscriptions will ask for, against stock.

A read for the API and the back office. Which subscriptions count is placement's own rule
(`selectors.eligible_proxy_orders`): a proxy order of the cycle still pending and not
skipped, whose subscription is not canceled, not paused, in range of the cycle (`begins_at
<= closes_at`, and `closes_at <= ends_at` when it ends), in a shop with subscriptions turned
on. So the forecast asks for what placement would place if it ran now.

Two queries whatever the size of the cycle: the cycle's live variants with their product and
producer, and the quantities asked summed per variant in the database (one GROUP BY over the
line items of the eligible subscriptions).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db.models import Sum
from django.utils import timezone

from cadence.cycles.models import OrderCycle
from cadence.subscriptions.models import SubscriptionLineItem
from cadence.subscriptions.selectors import eligible_proxy_orders


class ForecastRow(NamedTuple):
    """One live variant of the cycle: what the cycle's subscriptions ask for, against stock
    (`on_hand` is None for a variant sold on demand, which never runs short). A tuple: a
    cycle may have thousands."""

    variant_id: int
    producer_id: int
    producer_name: str
    product_name: str
    variant_name: str
    sku: str
    requested: int
    on_hand: int | None

    @property
    def shortfall(self) -> int:
        return 0 if self.on_hand is None else max(0, self.requested - self.on_hand)

    @property
    def on_demand(self) -> bool:
        return self.on_hand is None


def _variant_label(name: str, unit: str) -> str:
    """The variant's own part of `Variant.full_name` (its name and unit, without the
    product's name)."""
    parts = [name] if name else []
    if unit and unit not in name.split():
        parts.append(unit)
    return " - ".join(parts)


def requested_by_variant(*, order_cycle: OrderCycle, now: datetime | None = None) -> dict[int, int]:
    """Per variant id offered by the cycle: the quantity its eligible subscriptions ask for
    (variants nobody asks for are left out). One query."""
    now = now or timezone.now()
    eligible = eligible_proxy_orders(order_cycle=order_cycle, now=now)
    offered = OrderCycle.variants.through.objects.filter(ordercycle_id=order_cycle.pk).values(
        "variant_id"
    )
    # order_by() drops the models' ordering, which would split the GROUP BY.
    return dict(
        SubscriptionLineItem.objects.filter(
            subscription_id__in=eligible.order_by().values("subscription_id"),
            variant_id__in=offered,
        )
        .order_by()
        .values("variant_id")
        .annotate(total=Sum("quantity"))
        .values_list("variant_id", "total")
    )


def cycle_forecast(*, order_cycle: OrderCycle, now: datetime | None = None) -> list[ForecastRow]:
    """One row per live variant of the cycle (neither it nor its product deleted), by
    producer id, product name and variant id. Two queries."""
    variants = (
        order_cycle.variants.filter(deleted_at__isnull=True, product__deleted_at__isnull=True)
        .order_by("product__supplier_id", "product__name", "id")
        .values_list(
            "pk",
            "product__supplier_id",
            "product__supplier__name",
            "product__name",
            "name",
            "unit",
            "sku",
            "on_hand",
            "on_demand",
        )
    )
    requested = requested_by_variant(order_cycle=order_cycle, now=now)
    return [
        ForecastRow(
            pk,
            producer_id,
            producer_name,
            product_name,
            _variant_label(name, unit),
            sku,
            requested.get(pk, 0),
            None if on_demand else on_hand,
        )
        for pk, producer_id, producer_name, product_name, name, unit, sku, on_hand, on_demand in (
            variants
        )
    ]
