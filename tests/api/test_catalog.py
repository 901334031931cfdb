"""API: products and variants."""

from __future__ import annotations

from decimal import Decimal

from cadence.catalog.models import Product, Variant
from tests.support import factories as f


def _product_body(**overrides):
    body = {
        "name": "Carrots",
        "variants": [
            {"name": "1 kg", "unit": "kg", "price": "2.50", "on_hand": 10, "sku": "C1"},
            {"name": "5 kg", "unit": "kg", "price": 11, "on_demand": True},
        ],
    }
    body.update(overrides)
    return body


def test_create_product_with_variants(as_user):
    """POST products answers 201 with the product and each variant's id; money as strings."""
    manager = f.user()
    farm = f.producer()
    farm.managers.add(manager)
    r = as_user(manager).post(f"/enterprises/{farm.pk}/products", _product_body())
    assert r.status_code == 201, r.data
    ids = [v["id"] for v in r.data["variants"]]
    variants = Variant.objects.filter(pk__in=ids).order_by("id")
    assert [(v.name, v.price, v.on_hand, v.on_demand) for v in variants] == [
        ("1 kg", Decimal("2.50"), 10, False),
        ("5 kg", Decimal("11.00"), 0, True),
    ]
    assert [v["price"] for v in r.data["variants"]] == ["2.50", "11.00"]
    assert r.data["supplier_id"] == farm.pk


def test_create_product_rejects_bad_variants(as_user):
    """Negative price, negative stock or no variants answer 422 naming the field (a
    variant's field under `variants` and its own name); nothing is written."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    body = _product_body()
    body["variants"][0]["price"] = "-1"
    r = client.post(f"/enterprises/{shop.pk}/products", body)
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["variants", "price", "variants.0.price"]
    body = _product_body()
    body["variants"][1]["on_hand"] = -3
    r = client.post(f"/enterprises/{shop.pk}/products", body)
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["variants", "on_hand", "variants.1.on_hand"]
    r = client.post(f"/enterprises/{shop.pk}/products", _product_body(variants=[]))
    assert r.status_code == 422 and list(r.data["errors"]) == ["variants"]
    r = client.post(f"/enterprises/{shop.pk}/products", _product_body(name=" "))
    assert r.status_code == 422 and list(r.data["errors"]) == ["name"]
    assert not Product.objects.exists()


def test_list_products_hides_deleted_and_can_include_suppliers(as_user):
    """GET products lists live products with live variants; sellable=true adds those of
    permitted producers."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    own = f.variant(shop, product_name="Bread")
    gone = f.variant(shop, product_name="Old")
    gone.product.deleted_at = gone.created_at
    gone.product.save()
    farm = f.producer(supplies=[shop])
    theirs = f.variant(farm, product_name="Apples")
    client = as_user(manager)
    r = client.get(f"/enterprises/{shop.pk}/products")
    assert r.status_code == 200
    assert [p["name"] for p in r.data["items"]] == ["Bread"]
    assert r.data["items"][0]["variants"][0]["id"] == own.pk
    r = client.get(f"/enterprises/{shop.pk}/products", sellable="true")
    assert [p["name"] for p in r.data["items"]] == ["Apples", "Bread"]
    assert r.data["items"][0]["variants"][0]["id"] == theirs.pk


def test_patch_variant(as_user):
    """PATCH /variants/{id} changes price and stock; negative values are 422."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    variant = f.variant(shop, price="3.00", on_hand=5)
    client = as_user(manager)
    r = client.patch(f"/variants/{variant.pk}", {"price": "4.20", "on_hand": 8, "name": "2 kg"})
    assert r.status_code == 200, r.data
    assert r.data["price"] == "4.20"
    variant.refresh_from_db()
    assert (variant.price, variant.on_hand, variant.name) == (Decimal("4.20"), 8, "2 kg")
    r = client.patch(f"/variants/{variant.pk}", {"price": "-0.01"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["price"]
    r = client.patch(f"/variants/{variant.pk}", {"on_hand": "lots"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["on_hand"]
    variant.refresh_from_db()
    assert variant.price == Decimal("4.20")


def test_delete_is_soft(as_user):
    """DELETE variant / product set deleted_at; the rows stay."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    variant = f.variant(shop)
    other = f.variant(shop)
    client = as_user(manager)
    assert client.delete(f"/variants/{variant.pk}").status_code == 204
    variant.refresh_from_db()
    assert variant.deleted_at is not None
    assert client.delete(f"/products/{other.product_id}").status_code == 204
    other.refresh_from_db()
    assert other.deleted_at is not None and other.product.deleted_at is not None


def test_other_shops_variants_are_not_found(as_user):
    """Variants and products of an enterprise you do not manage answer 404."""
    variant = f.variant(f.shop(), price="1.00")
    client = as_user(f.user())
    assert client.patch(f"/variants/{variant.pk}", {"price": "9.00"}).status_code == 404
    assert client.delete(f"/variants/{variant.pk}").status_code == 404
    assert client.delete(f"/products/{variant.product_id}").status_code == 404
    variant.refresh_from_db()
    assert variant.price == Decimal("1.00") and variant.deleted_at is None
