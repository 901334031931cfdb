"""Writes on the catalogue: stock reservation and release.

Stock changes are single conditional UPDATEs, so concurrent placements never oversell and
never drive `on_hand` negative, whatever the isolation level.
"""

from __future__ import annotations

from django.db.models import F

from cadence.catalog.models import Variant


def stock_reserve(*, variant_id: int, quantity: int) -> bool:
    """Take `quantity` units if they are there; True when taken (on-demand always is)."""
    if quantity <= 0:
        return True
    taken = Variant.objects.filter(pk=variant_id, on_demand=False, on_hand__gte=quantity).update(
        on_hand=F("on_hand") - quantity
    )
    if taken:
        return True
    return Variant.objects.filter(pk=variant_id, on_demand=True).exists()


def stock_reserve_up_to(*, variant_id: int, quantity: int) -> int:
    """Take as many units as are there, up to `quantity`; returns how many were taken."""
    if quantity <= 0:
        return 0
    # Retry on a lost race: another reservation may have changed on_hand since we read it.
    while True:
        variant = Variant.objects.filter(pk=variant_id).values("on_hand", "on_demand").first()
        if variant is None:
            return 0
        if variant["on_demand"]:
            return quantity
        available = min(quantity, variant["on_hand"])
        if available <= 0:
            return 0
        if stock_reserve(variant_id=variant_id, quantity=available):
            return available


def stock_release(*, variant_id: int, quantity: int) -> None:
    """Give units back (an order canceled or reduced). On-demand variants keep no count."""
    if quantity <= 0:
        return
    Variant.objects.filter(pk=variant_id, on_demand=False).update(on_hand=F("on_hand") + quantity)
