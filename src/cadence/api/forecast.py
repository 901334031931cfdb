"""The forecast of an order cycle as the API answers it: what subscriptions will ask for,
against stock. The rows come from `cadence.subscriptions.forecast`, which the back office's
forecast page reads too."""

from __future__ import annotations

from cadence.cycles.models import OrderCycle
from cadence.subscriptions.forecast import cycle_forecast


def forecast_for_cycle(*, order_cycle: OrderCycle) -> list[dict]:
    """One row per live variant of the cycle: `requested` sums the quantities of the
    subscription lines that placement would place in this cycle now (see
    `cadence.subscriptions.forecast`); `on_hand` is None for on-demand variants;
    `shortfall` = max(0, requested − on_hand). Nothing is placed for a shop with
    subscriptions turned off, so it asks for nothing."""
    return [
        {
            "variant_id": row.variant_id,
            "producer_id": row.producer_id,
            "requested": row.requested,
            "on_hand": row.on_hand,
            "shortfall": row.shortfall,
        }
        for row in cycle_forecast(order_cycle=order_cycle)
    ]
