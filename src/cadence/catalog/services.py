"""Writes on the catalogue: stock reservation and release; products and variants.

Stock changes are single conditional UPDATEs, so concurrent placements never oversell and
never drive `on_hand` negative, whatever the isolation level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.bulk import update_each
from cadence.catalog.models import Product, Variant
from cadence.enterprises.models import Enterprise
from cadence.errors import ErrorCollector, ValidationFailed
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


def stock_reserve_bulk(*, quantities: Mapping[int, int]) -> None:
    """Take these units (variant id -> units) in one UPDATE for every variant; on-demand
    variants keep no count and are left alone.

    For a caller that holds the variants' row locks and has checked the units are there
    (placement's chunk): nothing is re-checked here, the CHECK (on_hand >= 0) fails the
    transaction should a count go negative."""
    update_each(
        Variant, values=quantities, assign="on_hand = on_hand - {value}", where="NOT on_demand"
    )


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


def _check_price_given(
    values: Mapping[str, Any], *, errors: ErrorCollector, field: str, label: str = ""
) -> None:
    """A variant given whole (created, or saved from a form) needs a price: add an error
    under `field` when `values` has none."""
    if "price" not in values:
        errors.add(field, label + _("price is required"))


def _check_product_name(name: str, *, errors: ErrorCollector) -> str:
    """The product's name, stripped; an error under `name` when blank or too long."""
    name = (name or "").strip()
    if not name:
        errors.add("name", _("can't be blank"))
    elif len(name) > 200:
        errors.add("name", _("name is too long"))
    return name


def _variant_label(n: int) -> str:
    """The prefix of a message about the `n`th variant of a list (counting from 1)."""
    return _("variant %(n)d: ") % {"n": n}


def split_variant_message(message: str) -> tuple[int | None, str]:
    """Read a `variants` message back: (N, the rest) for "variant N: rest", (None, message)
    for one about the list as a whole. Call it in the language the message was made in."""
    pattern = re.escape(_("variant %(n)d: ")).replace(re.escape("%(n)d"), r"(\d+)")
    match = re.match(pattern, message)
    if match is None:
        return None, message
    return int(match.group(1)), message[match.end() :]


def _new_variant(product: Product, values: Mapping[str, Any]) -> Variant:
    """An unsaved variant of `product` from checked `values`."""
    return Variant(
        product=product,
        name=(values.get("name") or "").strip(),
        unit=(values.get("unit") or "").strip(),
        sku=(values.get("sku") or "").strip(),
        price=Decimal(values["price"]),
        on_hand=values.get("on_hand") or 0,
        on_demand=bool(values.get("on_demand", False)),
    )


@transaction.atomic
def product_create(*, supplier: Enterprise, name: str, variants: list[dict[str, Any]]) -> Product:
    """Create a product of `supplier` with its variants (each: name, unit, price, on_hand,
    on_demand, sku). Raises ValidationFailed keyed `name` / `variants`."""
    errors = ErrorCollector()
    name = _check_product_name(name, errors=errors)
    if not variants:
        errors.add("variants", _("at least one variant is required"))
    for index, values in enumerate(variants):
        label = _variant_label(index + 1)
        _check_price_given(values, errors=errors, field="variants", label=label)
        _check_variant(values, errors=errors, field="variants", label=label)
    errors.raise_if_any()
    product = Product.objects.create(supplier=supplier, name=name)
    Variant.objects.bulk_create(_new_variant(product, v) for v in variants)
    return product


@transaction.atomic
def product_update(*, product: Product, name: str) -> Product:
    """Rename a product. Raises ValidationFailed keyed `name` (blank or too long) or
    `__all__` (the product is deleted)."""
    errors = ErrorCollector()
    name = _check_product_name(name, errors=errors)
    if product.deleted_at is not None:
        errors.add("__all__", _("this product has been deleted"))
    errors.raise_if_any()
    if name == product.name:
        return product
    return apply_changes(product, {"name": name})


@transaction.atomic
def variant_create(*, product: Product, values: Mapping[str, Any]) -> Variant:
    """Add a variant to an existing product (values: name, unit, price, on_hand, on_demand,
    sku; price required), with the same checks as `product_create`'s variants. Raises
    ValidationFailed keyed by the field (`price`, `on_hand`, `name`, an unknown one) or
    `__all__` (the product is deleted)."""
    errors = ErrorCollector()
    reject_unknown_fields(values, VARIANT_FIELDS, errors)
    _check_price_given(values, errors=errors, field="price")
    for field in ("price", "on_hand", "name"):
        if field in values:
            _check_variant({field: values[field]}, errors=errors, field=field)
    if product.deleted_at is not None:
        errors.add("__all__", _("this product has been deleted"))
    errors.raise_if_any()
    variant = _new_variant(product, values)
    variant.save()
    return variant


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


@transaction.atomic
def product_edit(
    *,
    product: Product,
    name: str,
    variants: Sequence[tuple[Variant | None, Mapping[str, Any]]],
    remove: Sequence[Variant] = (),
    now: datetime | None = None,
) -> Product:
    """Save a whole product form at once, all or nothing: rename the product, set each
    `(variant, values)` row (a new variant where `variant` is None), soft-delete `remove`.

    Every row is checked as `variant_update` and `variant_create` check it, and each needs
    a price. All the errors are collected before anything is kept. Raises ValidationFailed
    keyed `name`, `__all__` (the product is deleted) or `variants`, where a row's messages
    start with "variant N: " (N counting `variants` from 1, as in `product_create`), and
    "at least one variant is required" when the product would be left without one. After
    a failure, the objects passed in may hold refused values: reload them before use."""
    for given in [*(v for v, _values in variants if v is not None), *remove]:
        if given.product_id != product.pk:
            raise ValueError(f"variant {given.pk} is not one of product {product.pk}'s")
    errors = ErrorCollector()
    _collect_errors(errors, lambda: product_update(product=product, name=name))
    for n, (variant, values) in enumerate(variants, start=1):
        label = _variant_label(n)
        if variant is None:
            _collect_errors(
                errors, partial(variant_create, product=product, values=values), label=label
            )
            continue
        _check_price_given(values, errors=errors, field="variants", label=label)
        # Only what differs is written (and checked): an untouched row costs no query.
        changes = {k: v for k, v in values.items() if getattr(variant, k, None) != v}
        if changes:
            _collect_errors(
                errors,
                partial(variant_update, variant=variant, changes=changes),
                label=label,
            )
    for variant in remove:
        variant_delete(variant=variant, now=now)
    if not product.variants.filter(deleted_at__isnull=True).exists():
        errors.add("variants", _("at least one variant is required"))
    # Raising here rolls back what the calls above wrote.
    errors.raise_if_any()
    return product


def _collect_errors(
    errors: ErrorCollector, call: Callable[[], object], *, label: str | None = None
) -> None:
    """Run a service (in its own savepoint) and keep its messages in `errors` instead of
    stopping: under their own keys, or under `variants` prefixed with `label`."""
    try:
        call()
    except ValidationFailed as failed:
        for key, messages in failed.errors.items():
            for message in messages:
                if label is None:
                    errors.add(key, message)
                else:
                    errors.add("variants", label + message)
