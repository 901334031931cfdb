"""The forecast of an order cycle: what standing orders will ask for, against stock.

A read for the API and the pages. It lives with the interfaces because it joins
subscriptions with the catalogue and cycles, which none of those apps should import."""

from __future__ import annotations

from django.db.models import Sum

from cadence.cycles.models import OrderCycle
from cadence.subscriptions.models import ProxyOrderState, SubscriptionLineItem


def forecast_for_cycle(*, order_cycle: OrderCycle) -> list[dict]:
    """One row per live variant of the cycle: `requested` sums the quantities of subscription
    lines whose proxy order in this cycle is still pending (it will be placed) and whose
    subscription is neither paused nor canceled; `on_hand` is None for on-demand variants;
    `shortfall` = max(0, requested − on_hand). Nothing is placed for a shop with
    subscriptions turned off, so it asks for nothing."""
    variants = list(
        order_cycle.variants.filter(deleted_at__isnull=True, product__deleted_at__isnull=True)
        .select_related("product")
        .order_by("product__supplier_id", "product__name", "id")
    )
    requested: dict[int, int] = {}
    if order_cycle.shop.enable_subscriptions:
        # Both proxy-order conditions sit in one filter() so they apply to the same row.
        requested = dict(
            SubscriptionLineItem.objects.filter(
                subscription__proxy_orders__order_cycle=order_cycle,
                subscription__proxy_orders__state=ProxyOrderState.PENDING,
                subscription__canceled_at__isnull=True,
                subscription__paused_at__isnull=True,
                variant_id__in=[v.pk for v in variants],
            )
            .values("variant_id")
            .annotate(total=Sum("quantity"))
            .values_list("variant_id", "total")
        )
    rows = []
    for variant in variants:
        asked = requested.get(variant.pk, 0)
        on_hand = None if variant.on_demand else variant.on_hand
        rows.append(
            {
                "variant_id": variant.pk,
                "producer_id": variant.product.supplier_id,
                "requested": asked,
                "on_hand": on_hand,
                "shortfall": 0 if on_hand is None else max(0, asked - on_hand),
            }
        )
    return rows
