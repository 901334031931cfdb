"""Writes on the catalogue: stock reservation and release.

Stock changes are single conditional UPDATEs, so concurrent placements never oversell and
never drive `on_hand` negative, whatever the isolation level.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.models import Product, Variant
from cadence.enterprises.models import Enterprise
from cadence.errors import ErrorCollector
from cadence.updates import apply_changes, reject_unknown_fields


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


# --- Products and variants: creation, edits, soft deletion -------------------------------

VARIANT_FIELDS = ("name", "unit", "sku", "price", "on_hand", "on_demand")


def _check_variant(
    values: dict[str, Any], *, errors: ErrorCollector, field: str, label: str = ""
) -> None:
    """Add an error under `field` for each bad variant value present (prefix `label`)."""
    price = values.get("price")
    if "price" in values and (price is None or Decimal(price) < 0):
        errors.add(field, label + _("price must be 0 or more"))
    on_hand = values.get("on_hand")
    if "on_hand" in values and (on_hand is None or on_hand < 0):
        errors.add(field, label + _("on_hand must be 0 or more"))
    if "name" in values and len(values["name"] or "") > 200:
        errors.add(field, label + _("name is too long"))


@transaction.atomic
def product_create(*, supplier: Enterprise, name: str, variants: list[dict[str, Any]]) -> Product:
    """Create a product of `supplier` with its variants (each: name, unit, price, on_hand,
    on_demand, sku). Raises ValidationFailed keyed `name` / `variants`."""
    errors = ErrorCollector()
    name = (name or "").strip()
    if not name:
        errors.add("name", _("can't be blank"))
    if not variants:
        errors.add("variants", _("at least one variant is required"))
    for index, values in enumerate(variants):
        if "price" not in values:
            errors.add("variants", _("variant %(n)d: price is required") % {"n": index + 1})
        _check_variant(
            values, errors=errors, field="variants", label=_("variant %(n)d: ") % {"n": index + 1}
        )
    errors.raise_if_any()
    product = Product.objects.create(supplier=supplier, name=name)
    Variant.objects.bulk_create(
        Variant(
            product=product,
            name=(v.get("name") or "").strip(),
            unit=(v.get("unit") or "").strip(),
            sku=(v.get("sku") or "").strip(),
            price=Decimal(v["price"]),
            on_hand=v.get("on_hand") or 0,
            on_demand=bool(v.get("on_demand", False)),
        )
        for v in variants
    )
    return product


@transaction.atomic
def variant_update(*, variant: Variant, changes: dict[str, Any]) -> Variant:
    """Change a variant's price, stock, name, unit or SKU. Raises ValidationFailed."""
    errors = ErrorCollector()
    reject_unknown_fields(changes, VARIANT_FIELDS, errors)
    for field in ("price", "on_hand", "name"):
        if field in changes:
            _check_variant({field: changes[field]}, errors=errors, field=field)
    if variant.deleted_at is not None:
        errors.add("__all__", _("this variant has been deleted"))
    errors.raise_if_any()
    return apply_changes(variant, changes)


@transaction.atomic
def variant_delete(*, variant: Variant, now: datetime | None = None) -> Variant:
    """Soft-delete a variant: subscriptions keep their line (shown as unavailable, placed as
    0), so rows referring to it never break."""
    now = now or timezone.now()
    if variant.deleted_at is None:
        variant.deleted_at = now
        variant.save(update_fields=["deleted_at"])
    return variant


@transaction.atomic
def product_delete(*, product: Product, now: datetime | None = None) -> Product:
    """Soft-delete a product and its variants (same reasons as `variant_delete`)."""
    now = now or timezone.now()
    if product.deleted_at is None:
        product.deleted_at = now
        product.save(update_fields=["deleted_at"])
        product.variants.filter(deleted_at__isnull=True).update(deleted_at=now)
    return product
