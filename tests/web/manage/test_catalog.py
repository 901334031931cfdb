"""The products pages: the list (the shop's own and its producers' products), a product's
form with its variants, and the soft delete."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cadence.catalog.models import Product, Variant
from cadence.catalog.services import (
    product_create,
    product_delete,
    product_edit,
    product_update,
    variant_create,
)
from cadence.errors import ValidationFailed
from tests.support import factories

pytestmark = pytest.mark.django_db

VARIANT_FIELDS = ("id", "name", "unit", "price", "sku", "on_hand", "on_demand")


def _list(shop):
    return f"/manage/{shop.pk}/products/"


def _new(shop):
    return f"/manage/{shop.pk}/products/new/"


def _edit(shop, product):
    return f"/manage/{shop.pk}/products/{product.pk}/"


def _delete(shop, product):
    return f"/manage/{shop.pk}/products/{product.pk}/delete/"


def _form(name, rows, *, initial=None, **extra):
    """The POST body of a product form: `rows` are dicts of a variant row's fields (a
    checkbox is on when truthy)."""
    data = {
        "name": name,
        "variants-TOTAL_FORMS": str(len(rows)),
        "variants-INITIAL_FORMS": str(len(rows) if initial is None else initial),
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for field, value in row.items():
            if field in ("on_demand", "DELETE"):
                if value:
                    data[f"variants-{i}-{field}"] = "on"
            elif value is not None:
                data[f"variants-{i}-{field}"] = str(value)
    data.update(extra)
    return data


def _row(variant: Variant, **changes):
    row = {field: getattr(variant, field) for field in VARIANT_FIELDS}
    row.update(changes)
    return row


def _error_block(html: str, element_id: str) -> str:
    """The text of the element with this id (its error list)."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</(ul|div)>', html, re.S)
    assert match, f"no #{element_id} in the page"
    return match.group(1)


def _product(shop, name="Carrots", variants=None):
    return product_create(
        supplier=shop,
        name=name,
        variants=variants
        or [
            {"name": "1 kg", "unit": "kg", "price": "2.50", "on_hand": 10, "sku": "CAR-1"},
            {"name": "5 kg", "unit": "kg", "price": "11.00", "on_demand": True},
        ],
    )


# --- The list ----------------------------------------------------------------------------


def test_an_empty_list_says_how_to_add_a_product(manager_client, shop):
    response = manager_client.get(_list(shop))

    assert response.status_code == 200
    assert "No product yet" in response.text
    assert f'href="{_new(shop)}"' in response.text


def test_the_list_shows_each_product_with_its_variants(manager_client, shop):
    """Product, producer, and each live variant with its price, SKU and stock (or on
    demand); deleted variants and products are not shown."""
    product = _product(shop)
    gone = Variant.objects.create(product=product, name="Gone", price=Decimal("1"))
    gone.deleted_at = gone.created_at
    gone.save()
    deleted = _product(shop, "Old turnips")
    deleted.deleted_at = deleted.created_at
    deleted.save()

    response = manager_client.get(_list(shop))

    text = response.text
    assert "Carrots" in text and "Ferme du Val" in text
    assert "€2.50" in text and "€11.00" in text
    assert "SKU CAR-1" in text and "10 in stock" in text and "on demand" in text
    assert "Gone" not in text and "Old turnips" not in text
    assert f'href="{_edit(shop, product)}"' in text
    assert f'href="{_delete(shop, product)}"' in text


def test_producers_products_are_listed_read_only(manager_client, shop):
    """A permitted producer's products show with their producer, without edit or delete
    links; an unrelated producer's are not listed."""
    farm = factories.producer("Les Vergers", supplies=[shop])
    apples = _product(farm, "Apples")
    stranger = factories.producer("Elsewhere farm")
    _product(stranger, "Pears")

    response = manager_client.get(_list(shop))

    assert "Apples" in response.text and "Les Vergers" in response.text
    assert "Managed by the producer" in response.text
    assert _edit(shop, apples) not in response.text
    assert "Pears" not in response.text


def test_a_producers_product_cannot_be_opened_nor_changed(manager_client, shop):
    """Its edit and delete URLs answer 404 to the shop's manager, GET and POST, and
    nothing changes."""
    farm = factories.producer("Les Vergers", supplies=[shop])
    apples = _product(farm, "Apples")
    variant = apples.variants.first()

    assert manager_client.get(_edit(shop, apples)).status_code == 404
    response = manager_client.post(
        _edit(shop, apples), _form("Stolen", [_row(variant, price="0.01")])
    )
    assert response.status_code == 404
    assert manager_client.get(_delete(shop, apples)).status_code == 404
    assert manager_client.post(_delete(shop, apples)).status_code == 404
    apples.refresh_from_db()
    variant.refresh_from_db()
    assert apples.name == "Apples" and apples.deleted_at is None
    assert variant.price == Decimal("2.50")


def test_search_by_name_or_sku(manager_client, shop):
    _product(shop, "Carrots")
    _product(shop, "Sourdough", [{"name": "Loaf", "price": "3", "sku": "BRD-7"}])

    by_name = manager_client.get(_list(shop), {"q": "carr"}).text
    by_sku = manager_client.get(_list(shop), {"q": "brd-7"}).text
    nothing = manager_client.get(_list(shop), {"q": "zucchini"}).text

    assert "Carrots" in by_name and "Sourdough" not in by_name
    assert "Sourdough" in by_sku and "Carrots" not in by_sku
    assert "No product matches this search." in nothing


def test_the_producer_filter(manager_client, shop):
    """The filter offers the shop and its producers; choosing one keeps its products only;
    an id that is not one of them is ignored."""
    farm = factories.producer("Les Vergers", supplies=[shop])
    _product(farm, "Apples")
    _product(shop, "Carrots")
    outsider = factories.producer("Elsewhere farm")

    everything = manager_client.get(_list(shop)).text
    theirs = manager_client.get(_list(shop), {"producer": farm.pk}).text
    ours = manager_client.get(_list(shop), {"producer": shop.pk}).text
    unknown = manager_client.get(_list(shop), {"producer": outsider.pk}).text

    assert f'<option value="{farm.pk}">Les Vergers</option>' in everything
    assert "Ferme du Val (this shop)" in everything
    assert "Elsewhere farm" not in everything
    assert "Apples" in theirs and "Carrots" not in theirs
    assert "Carrots" in ours and "Apples" not in ours
    assert "Carrots" in unknown and "Apples" in unknown


def test_the_list_sorts_by_producer_and_paginates(manager_client, shop):
    farm = factories.producer("Aardvark farm", supplies=[shop])
    _product(farm, "Zucchini")
    _product(shop, "Apples")
    for i in range(30):
        _product(shop, f"Product {i:02}")

    by_producer = manager_client.get(_list(shop), {"sort": "supplier"}).text
    page_2 = manager_client.get(_list(shop), {"page": 2}).text

    assert by_producer.index("Zucchini") < by_producer.index("Apples")
    assert "Page 2 of 2 (32 in all)" in page_2
    assert "Product 29" in page_2 and "Apples" not in page_2


def test_the_list_runs_as_many_queries_for_500_products_as_for_10(
    manager_client, shop, count_queries
):
    """Products are paginated and their variants loaded in one query for the page."""
    farm = factories.producer("Les Vergers", supplies=[shop])

    def add(count, start):
        products = Product.objects.bulk_create(
            Product(supplier=farm if i % 2 else shop, name=f"Product {start + i:04}")
            for i in range(count)
        )
        Variant.objects.bulk_create(
            Variant(product=p, name=name, price=Decimal("2.00"), sku=f"S{p.pk}-{name}")
            for p in products
            for name in ("small", "large")
        )

    add(10, 0)
    at_10 = count_queries(manager_client, _list(shop))
    add(490, 10)
    at_500 = count_queries(manager_client, _list(shop))
    searched = count_queries(manager_client, _list(shop) + "?q=S&sort=-supplier&page=3")

    assert at_10 == at_500 == searched


def test_the_list_in_french(manager_client, shop):
    _product(shop, "Carottes")

    response = manager_client.get(_list(shop), HTTP_ACCEPT_LANGUAGE="fr")

    text = response.text
    assert "Ajouter un produit" in text and "Variantes" in text
    assert "2,50\xa0€" in text and "11,00\xa0€" in text
    assert "10 en stock" in text and "à la demande" in text and "Réf. CAR-1" in text


# --- Creating ----------------------------------------------------------------------------


def test_the_new_product_form_has_one_empty_variant(manager_client, shop):
    response = manager_client.get(_new(shop))

    assert response.status_code == 200
    assert 'name="variants-TOTAL_FORMS" value="1"' in response.text
    assert 'name="add_variant"' in response.text


def test_creating_a_product_with_two_variants(manager_client, shop):
    """Prices typed with a comma or a point, a stock, an on-demand variant; an empty row
    is ignored. The manager lands on the list with a message."""
    data = _form(
        "Carrots",
        [
            {"name": "1 kg", "unit": "kg", "price": "2,50", "sku": "C1", "on_hand": "10"},
            {"name": "5 kg", "unit": "kg", "price": "11.00", "on_demand": True},
            {},
        ],
    )

    response = manager_client.post(_new(shop), data)

    assert response.status_code == 302 and response["Location"] == _list(shop)
    product = Product.objects.get()
    assert (product.name, product.supplier) == ("Carrots", shop)
    assert [
        (v.name, v.unit, v.price, v.sku, v.on_hand, v.on_demand)
        for v in product.variants.order_by("id")
    ] == [
        ("1 kg", "kg", Decimal("2.50"), "C1", 10, False),
        ("5 kg", "kg", Decimal("11.00"), "", 0, True),
    ]
    assert "Product “Carrots” added." in manager_client.get(response["Location"]).text


def test_add_a_variant_shows_one_more_row_and_keeps_what_was_typed(manager_client, shop):
    """The "Add a variant" button saves nothing and shows no error yet."""
    data = _form("Carrots", [{"name": "1 kg", "price": "abc"}], add_variant="")

    response = manager_client.post(_new(shop), data)

    assert response.status_code == 200
    assert 'name="variants-TOTAL_FORMS" value="2"' in response.text
    assert 'value="Carrots"' in response.text and 'value="abc"' in response.text
    assert 'name="variants-1-name"' in response.text and "autofocus" in response.text
    assert "field-errors" not in response.text
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("name", "rows", "block", "message"),
    [
        ("Carrots", [{"price": "-1"}], "id_variants-0_error", "price must be 0 or more"),
        ("Carrots", [{"price": "2", "on_hand": "-3"}], "id_variants-0_error", "on_hand must be"),
        ("Carrots", [{"name": "1 kg"}], "id_variants-0_error", "price is required"),
        ("  ", [{"price": "2"}], "id_name_error", "can&#x27;t be blank"),
        ("Carrots", [{}], "id_variants_error", "at least one variant is required"),
        ("Carrots", [{"price": "2,5,0"}], "id_variants-0-price_error", "Enter a number for"),
        ("Carrots", [{"price": "2.555"}], "id_variants-0-price_error", "at most 2 decimals"),
        ("Carrots", [{"price": "2", "on_hand": "1.5"}], "id_variants-0-on_hand_error", "whole"),
    ],
)
def test_bad_input_is_refused_in_place_and_nothing_is_written(
    manager_client, shop, name, rows, block, message
):
    """The services' messages show on the product's field or on the variant's row; what
    only fails to parse shows on its field."""
    response = manager_client.post(_new(shop), _form(name, rows))

    assert response.status_code == 200
    assert message in _error_block(response.text, block)
    assert not Product.objects.exists() and not Variant.objects.exists()


def test_an_error_on_the_second_row_shows_on_that_row(manager_client, shop):
    rows = [{"name": "1 kg", "price": "2"}, {}, {"name": "5 kg", "price": "-9"}]

    response = manager_client.post(_new(shop), _form("Carrots", rows))

    # The empty middle row is not a variant: the service's "variant 2" is the third row.
    assert "price must be 0 or more" in _error_block(response.text, "id_variants-2_error")
    assert 'id="id_variants-0_error"' not in response.text
    assert not Product.objects.exists()


def test_the_form_in_french(manager_client, shop):
    """Labels, the currency in the price label, and the services' messages in French."""
    response = manager_client.post(
        _new(shop), _form("", [{"name": "1 kg", "price": "-1"}]), HTTP_ACCEPT_LANGUAGE="fr"
    )

    text = response.text
    assert "Nom du produit" in text and "Prix (€)" in text and "Ajouter une variante" in text
    assert "ne peut pas être vide" in _error_block(text, "id_name_error")
    assert "le prix doit être supérieur ou égal à 0" in _error_block(text, "id_variants-0_error")


# --- Editing -----------------------------------------------------------------------------


def test_the_edit_form_shows_the_variants_prices_in_the_readers_format(manager_client, shop):
    product = _product(shop)

    english = manager_client.get(_edit(shop, product)).text
    french = manager_client.get(_edit(shop, product), HTTP_ACCEPT_LANGUAGE="fr").text

    assert 'value="Carrots"' in english and 'value="2.50"' in english
    assert 'value="2,50"' in french and 'value="11,00"' in french


def test_editing_the_name_a_price_and_a_stock(manager_client, shop):
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product),
        _form("Organic carrots", [_row(small, price="2,80", on_hand=4), _row(large)]),
    )

    assert response.status_code == 302
    product.refresh_from_db()
    small.refresh_from_db()
    large.refresh_from_db()
    assert product.name == "Organic carrots"
    assert (small.price, small.on_hand) == (Decimal("2.80"), 4)
    assert (large.price, large.on_demand) == (Decimal("11.00"), True)
    assert "Product “Organic carrots” saved." in manager_client.get(response["Location"]).text


def test_adding_a_variant_on_edit(manager_client, shop):
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product),
        _form(
            "Carrots",
            [_row(small), _row(large), {"name": "10 kg", "unit": "kg", "price": "20"}],
            initial=2,
        ),
    )

    assert response.status_code == 302
    added = product.variants.order_by("id").last()
    assert (added.name, added.price, added.on_hand) == ("10 kg", Decimal("20.00"), 0)


def test_add_a_variant_on_edit_keeps_the_rows_and_their_ids(manager_client, shop):
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product),
        _form("Carrots", [_row(small, price="3,10"), _row(large)], add_variant=""),
    )

    assert response.status_code == 200
    assert 'name="variants-TOTAL_FORMS" value="3"' in response.text
    assert f'name="variants-0-id" value="{small.pk}"' in response.text
    assert 'value="3,10"' in response.text
    small.refresh_from_db()
    assert small.price == Decimal("2.50")


def test_removing_a_variant_is_a_soft_delete(manager_client, shop):
    """The row stays in the database with `deleted_at`; the list no longer shows it."""
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product), _form("Carrots", [_row(small), _row(large, DELETE=True)])
    )

    assert response.status_code == 302
    large.refresh_from_db()
    assert large.deleted_at is not None
    assert Variant.objects.filter(pk=large.pk).exists()
    assert "5 kg" not in manager_client.get(_list(shop)).text


def test_a_failed_edit_writes_nothing(manager_client, shop):
    """A bad row anywhere keeps every change out: rename, other rows, additions, removals."""
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product),
        _form(
            "Renamed",
            [_row(small, price="1.00"), _row(large, DELETE=True), {"name": "x", "price": "-5"}],
        ),
    )

    assert response.status_code == 200
    # Row 3 of the form is the service's second variant (the removed one is not sent).
    assert "price must be 0 or more" in _error_block(response.text, "id_variants-2_error")
    product.refresh_from_db()
    small.refresh_from_db()
    large.refresh_from_db()
    assert product.name == "Carrots" and small.price == Decimal("2.50")
    assert large.deleted_at is None and product.variants.count() == 2
    assert "<h1>Carrots</h1>" in response.text


def test_removing_every_variant_is_refused(manager_client, shop):
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product),
        _form("Carrots", [_row(small, DELETE=True), _row(large, DELETE=True)]),
    )

    assert "at least one variant is required" in _error_block(response.text, "id_variants_error")
    assert not product.variants.filter(deleted_at__isnull=False).exists()


def test_a_blank_name_or_a_cleared_price_on_edit(manager_client, shop):
    product = _product(shop)
    small, large = product.variants.order_by("id")

    response = manager_client.post(
        _edit(shop, product), _form("", [_row(small, price=""), _row(large)])
    )

    assert "can&#x27;t be blank" in _error_block(response.text, "id_name_error")
    assert "price is required" in _error_block(response.text, "id_variants-0_error")
    small.refresh_from_db()
    assert small.price == Decimal("2.50")


def test_a_variant_of_another_product_cannot_be_slipped_into_the_form(manager_client, shop):
    product = _product(shop)
    other = _product(shop, "Bread").variants.first()

    response = manager_client.post(
        _edit(shop, product), _form("Carrots", [_row(other, price="0.01")])
    )

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.price == Decimal("2.50")


# --- Deleting ----------------------------------------------------------------------------


def test_deleting_a_product_asks_first_then_is_soft(manager_client, shop):
    product = _product(shop)

    confirm = manager_client.get(_delete(shop, product))
    assert confirm.status_code == 200 and "Delete “Carrots” and its variants?" in confirm.text
    product.refresh_from_db()
    assert product.deleted_at is None

    response = manager_client.post(_delete(shop, product))

    assert response.status_code == 302 and response["Location"] == _list(shop)
    product.refresh_from_db()
    assert product.deleted_at is not None
    assert not product.variants.filter(deleted_at__isnull=True).exists()
    page = manager_client.get(_list(shop)).text
    assert "Product “Carrots” deleted." in page and "No product yet" in page
    assert manager_client.get(_edit(shop, product)).status_code == 404


# --- Who may see the pages ---------------------------------------------------------------


def test_outsiders_see_no_product_page(shop, assert_hidden):
    product = _product(shop)
    variant = product.variants.first()
    body = _form("Stolen", [_row(variant, price="0.01")])

    assert_hidden(_list(shop))
    assert_hidden(_new(shop))
    assert_hidden(_new(shop), method="post", data=_form("Stolen", [{"price": "1"}]))
    assert_hidden(_edit(shop, product))
    assert_hidden(_edit(shop, product), method="post", data=body)
    assert_hidden(_delete(shop, product))
    assert_hidden(_delete(shop, product), method="post")

    product.refresh_from_db()
    variant.refresh_from_db()
    assert product.name == "Carrots" and product.deleted_at is None
    assert variant.price == Decimal("2.50")
    assert Product.objects.count() == 1


# --- The services behind the form --------------------------------------------------------


def test_product_edit_collects_every_error_before_writing():
    """All the rows' messages come at once, each numbered by its row, and nothing is kept."""
    shop = factories.shop()
    product = _product(shop)
    small, large = product.variants.order_by("id")

    with pytest.raises(ValidationFailed) as failed:
        product_edit(
            product=product,
            name="",
            variants=[
                (small, {"price": Decimal("-1"), "on_hand": 3}),
                (large, {"price": Decimal("4"), "on_hand": -1}),
                (None, {"name": "new"}),
            ],
        )

    assert failed.value.errors == {
        "name": ["can't be blank"],
        "variants": [
            "variant 1: price must be 0 or more",
            "variant 2: on_hand must be 0 or more",
            "variant 3: price is required",
        ],
    }
    small.refresh_from_db()
    assert (small.price, small.on_hand) == (Decimal("2.50"), 10)
    assert product.variants.count() == 2


def test_variant_create_checks_like_product_create_keyed_by_field():
    shop = factories.shop()
    product = _product(shop)

    with pytest.raises(ValidationFailed) as failed:
        variant_create(product=product, values={"on_hand": -1, "colour": "red"})

    assert failed.value.errors == {
        "colour": ["cannot be changed"],
        "price": ["price is required"],
        "on_hand": ["on_hand must be 0 or more"],
    }
    added = variant_create(product=product, values={"name": " 10 kg ", "price": Decimal("20")})
    assert (added.name, added.price, added.on_hand, added.on_demand) == (
        "10 kg",
        Decimal("20"),
        0,
        False,
    )


def test_a_deleted_product_takes_no_new_name_nor_variant():
    shop = factories.shop()
    product = product_delete(product=_product(shop))

    with pytest.raises(ValidationFailed) as renamed:
        product_update(product=product, name="Back")
    with pytest.raises(ValidationFailed) as added:
        variant_create(product=product, values={"price": Decimal("1")})

    assert renamed.value.errors == {"__all__": ["this product has been deleted"]}
    assert added.value.errors == {"__all__": ["this product has been deleted"]}
    assert product.variants.count() == 2


def test_product_update_refuses_a_blank_or_too_long_name():
    product = _product(factories.shop())

    for name, message in (("  ", "can't be blank"), ("x" * 201, "name is too long")):
        with pytest.raises(ValidationFailed) as failed:
            product_update(product=product, name=name)
        assert failed.value.errors == {"name": [message]}
    assert product_update(product=product, name=" Leeks ").name == "Leeks"
    product.refresh_from_db()
    assert product.name == "Leeks"
