"""Reads on the catalogue: which variants and products a shop may sell, and from whom."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from cadence.catalog.models import Product, Variant
from cadence.enterprises.models import Enterprise, SupplierPermission
from cadence.enterprises.selectors import object_for_manager


def variants_sellable_by(shop: Enterprise, *, include_deleted: bool = False) -> QuerySet[Variant]:
    """The shop's own variants and those of producers that let it sell theirs."""
    producers = SupplierPermission.objects.filter(shop=shop).values("producer_id")
    qs = Variant.objects.filter(Q(product__supplier=shop) | Q(product__supplier__in=producers))
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True, product__deleted_at__isnull=True)
    return qs.select_related("product")


def producers_for_shop(*, shop: Enterprise) -> QuerySet[Enterprise]:
    """Whose products the shop sells: itself and each producer that lets it sell theirs,
    the shop first, then by name."""
    producers = SupplierPermission.objects.filter(shop=shop).values("producer_id")
    return (
        Enterprise.objects.filter(Q(pk=shop.pk) | Q(pk__in=producers))
        .alias(is_other=~Q(pk=shop.pk))
        .order_by("is_other", "name", "id")
        .only("id", "name")
    )


def products_for_shop(
    *, shop: Enterprise, q: str | None = None, producer_id: int | None = None
) -> QuerySet[Product]:
    """The products the shop sells (its own and its permitted producers'), not deleted, by
    name, each with its supplier and its live variants in `live_variants` (one query for a
    whole page of products).

    `q` matches the product's name or one of its variants' SKU; `producer_id` keeps one
    supplier's products (none when it is not one of `producers_for_shop`)."""
    producers = SupplierPermission.objects.filter(shop=shop).values("producer_id")
    qs = Product.objects.filter(Q(supplier=shop) | Q(supplier__in=producers)).filter(
        deleted_at__isnull=True
    )
    if producer_id is not None:
        qs = qs.filter(supplier_id=producer_id)
    q = (q or "").strip()
    if q:
        # EXISTS rather than a join, so a product with two matching variants shows once.
        sku_matches = Variant.objects.filter(
            product=OuterRef("pk"), deleted_at__isnull=True, sku__icontains=q
        )
        qs = qs.filter(Q(name__icontains=q) | Exists(sku_matches))
    live = Variant.objects.filter(deleted_at__isnull=True).order_by("id")
    return (
        qs.select_related("supplier")
        .prefetch_related(Prefetch("variants", queryset=live, to_attr="live_variants"))
        .order_by("name", "id")
    )


def product_for_manager(*, user, product_id: int) -> Product:
    """The product if the user manages its supplier (or is staff); raises NotFound otherwise."""
    return object_for_manager(
        user=user,
        queryset=Product.objects.select_related("supplier"),
        pk=product_id,
        shop_field="supplier",
        label=_("Product"),
    )


def variant_for_manager(*, user, variant_id: int) -> Variant:
    """The variant if the user manages its product's supplier (or is staff); raises NotFound
    otherwise."""
    return object_for_manager(
        user=user,
        queryset=Variant.objects.select_related("product__supplier"),
        pk=variant_id,
        shop_field="product__supplier",
        label=_("Variant"),
    )


def variants_of_product(*, product: Product) -> QuerySet[Variant]:
    """All the product's variants, deleted ones included, in the order they were made."""
    return product.variants.order_by("id")


def live_products_of(*, enterprise: Enterprise, sellable: bool = False) -> QuerySet[Product]:
    """The enterprise's products that are not deleted, by name, each with its live variants
    in `live_variants`; with `sellable`, also those of the producers that let this shop sell
    theirs."""
    suppliers = Q(supplier=enterprise)
    if sellable:
        producers = SupplierPermission.objects.filter(shop=enterprise).values("producer_id")
        suppliers |= Q(supplier__in=producers)
    live = Variant.objects.filter(deleted_at__isnull=True).order_by("id")
    return (
        Product.objects.filter(suppliers, deleted_at__isnull=True)
        .prefetch_related(Prefetch("variants", queryset=live, to_attr="live_variants"))
        .order_by("name", "id")
    )


def own_live_product(*, shop: Enterprise, product_id: int) -> Product | None:
    """The shop's own product, not deleted; None for a producer's, another shop's or a deleted
    one."""
    return (
        Product.objects.filter(deleted_at__isnull=True).filter(pk=product_id, supplier=shop).first()
    )


def live_variants_of_product(*, product: Product) -> QuerySet[Variant]:
    """The product's variants that are not deleted, in the order they were made."""
    return product.variants.filter(deleted_at__isnull=True).order_by("id")
