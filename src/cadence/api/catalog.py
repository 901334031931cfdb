"""Products and variants of an enterprise (a producer, or a shop selling its own)."""

from __future__ import annotations

from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, money
from cadence.api.inputs import UNSET, Flag, In, Money, Stock, Text
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.catalog.models import Product, Variant
from cadence.catalog.selectors import (
    live_products_of,
    product_for_manager,
    variant_for_manager,
    variants_of_product,
)
from cadence.catalog.services import product_create, product_delete, variant_delete, variant_update
from cadence.enterprises.selectors import enterprise_for_manager

router = Router(tags=["catalog"])


class VariantIn(In):
    name: Text = Field("", max_length=200)
    unit: Text = Field("", max_length=50)
    price: Money
    on_hand: Stock = 0
    on_demand: Flag = False
    sku: Text = Field("", max_length=64)


class ProductIn(In):
    name: Text = Field(..., max_length=200)
    variants: list[VariantIn] = Field(..., min_length=1)


class VariantPatch(In):
    name: Text = Field(UNSET, max_length=200)
    unit: Text = Field(UNSET, max_length=50)
    sku: Text = Field(UNSET, max_length=64)
    price: Money = UNSET
    on_hand: Stock = UNSET
    on_demand: Flag = UNSET


class VariantOut(Schema):
    id: int
    product_id: int
    name: str
    unit: str
    sku: str
    price: str
    on_hand: int
    on_demand: bool
    deleted: bool


class ProductOut(Schema):
    id: int
    supplier_id: int
    name: str
    deleted: bool
    variants: list[VariantOut]


class ProductFilters(PageParams):
    sellable: bool = False


ProductPage = page_schema(ProductOut, "ProductPage")


def variant_out(variant: Variant) -> dict:
    return {
        "id": variant.pk,
        "product_id": variant.product_id,
        "name": variant.name,
        "unit": variant.unit,
        "sku": variant.sku,
        "price": money(variant.price),
        "on_hand": variant.on_hand,
        "on_demand": variant.on_demand,
        "deleted": variant.deleted_at is not None,
    }


def product_out(product: Product, variants=None) -> dict:
    if variants is None:
        variants = variants_of_product(product=product)
    return {
        "id": product.pk,
        "supplier_id": product.supplier_id,
        "name": product.name,
        "deleted": product.deleted_at is not None,
        "variants": [variant_out(v) for v in variants],
    }


@router.post(
    "/enterprises/{int:enterprise_id}/products", response={201: ProductOut, **WRITE_ERRORS}
)
def create_product(request: ApiRequest, enterprise_id: int, payload: ProductIn):
    """Create a product with its variants; the answer carries each `variants[].id`."""
    supplier = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    variants = [v.dict() for v in payload.variants]
    return Status(
        201, product_out(product_create(supplier=supplier, name=payload.name, variants=variants))
    )


@router.get("/enterprises/{int:enterprise_id}/products", response={200: ProductPage, **READ_ERRORS})
def list_products(request: ApiRequest, enterprise_id: int, filters: Query[ProductFilters]):
    """The enterprise's products that are not deleted; with `sellable=true`, also those of
    the producers that let this shop sell theirs."""
    enterprise = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = live_products_of(enterprise=enterprise, sellable=filters.sellable)
    return paginate(qs, filters, lambda rows: [product_out(p, p.live_variants) for p in rows])


@router.patch("/variants/{int:variant_id}", response={200: VariantOut, **WRITE_ERRORS})
def update_variant(request: ApiRequest, variant_id: int, payload: VariantPatch):
    variant = variant_for_manager(user=request.auth, variant_id=variant_id)
    return variant_out(variant_update(variant=variant, changes=payload.dict(exclude_unset=True)))


@router.delete("/variants/{int:variant_id}", response={204: None, **WRITE_ERRORS})
def delete_variant(request: ApiRequest, variant_id: int):
    """Soft delete: subscriptions keep the line, shown as unavailable."""
    variant_delete(variant=variant_for_manager(user=request.auth, variant_id=variant_id))
    return Status(204, None)


@router.delete("/products/{int:product_id}", response={204: None, **WRITE_ERRORS})
def delete_product(request: ApiRequest, product_id: int):
    """Soft delete of the product and its variants."""
    product_delete(product=product_for_manager(user=request.auth, product_id=product_id))
    return Status(204, None)
