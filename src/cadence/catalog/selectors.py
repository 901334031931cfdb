"""Reads on the catalogue: which variants a shop may sell."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cadence.catalog.models import Variant
from cadence.enterprises.models import Enterprise, SupplierPermission


def variants_sellable_by(shop: Enterprise, *, include_deleted: bool = False) -> QuerySet[Variant]:
    """The shop's own variants and those of producers that let it sell theirs."""
    producers = SupplierPermission.objects.filter(shop=shop).values("producer_id")
    qs = Variant.objects.filter(Q(product__supplier=shop) | Q(product__supplier__in=producers))
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True, product__deleted_at__isnull=True)
    return qs.select_related("product")
