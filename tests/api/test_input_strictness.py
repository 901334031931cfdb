"""API input is taken strictly: wrong JSON types are refused instead of coerced, values beyond
the database's limits are refused by the schema, and each error names its field."""

from __future__ import annotations

import pytest

from cadence.catalog.models import Product, Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle
from cadence.enterprises.models import Enterprise
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import Subscription
from tests.support import factories as f
from tests.support.api import subscription_body, subscription_shop

BIG_ID = 2**63  # one more than the largest 64-bit id
BIG_COUNT = 2**31  # one more than the largest 32-bit count


@pytest.fixture
def setup(db):
    """A shop with a manager, variants in an upcoming cycle of a schedule, a customer and
    its methods."""
    return subscription_shop()


def post_subscription(as_user, s, **overrides):
    return as_user(s["manager"]).post(
        f"/enterprises/{s['shop'].pk}/subscriptions", subscription_body(s, **overrides)
    )


def assert_refused(r, *fields):
    assert r.status_code == 422, (r.status_code, r.data)
    for field in fields:
        assert field in r.data["errors"], r.data
        assert all(isinstance(m, str) and m for m in r.data["errors"][field])


# --- wrong JSON types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, fields",
    [
        ({"customer_id": True}, ("customer_id",)),
        ({"schedule_id": "1"}, ("schedule_id",)),
        ({"payment_method_id": 1.0}, ("payment_method_id",)),
        ({"begins_at": 12345}, ("begins_at",)),
        ({"begins_at": "1700000000"}, ("begins_at",)),
        ({"ends_at": 1.5e9}, ("ends_at",)),
        ({"line_items": [{"variant_id": 0, "quantity": "2"}]}, ("line_items", "quantity")),
        ({"line_items": [{"variant_id": True, "quantity": 1}]}, ("line_items", "variant_id")),
        ({"bill_address": "12 Rue X"}, ("bill_address",)),
    ],
)
def test_wrong_json_types_are_refused_on_subscriptions(as_user, setup, overrides, fields):
    """Booleans, numbers-as-text and text-as-numbers are not coerced: 422 naming the field
    (a line's field under `line_items` and its own name); nothing is written."""
    for line in overrides.get("line_items", []):
        if line["variant_id"] == 0:
            line["variant_id"] = setup["kale"].pk
    assert_refused(post_subscription(as_user, setup, **overrides), *fields)
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "path, body, fields",
    [
        ("products", {"name": 5, "variants": [{"price": "1.00"}]}, ("name",)),
        ("products", {"name": "Kale", "variants": [{"price": "1", "on_hand": "3"}]}, ("on_hand",)),
        (
            "products",
            {"name": "Kale", "variants": [{"price": "1", "on_demand": "yes"}]},
            ("variants", "on_demand"),
        ),
        ("products", {"name": "Kale", "variants": [{"price": True}]}, ("variants", "price")),
        ("customers", {"email": 42}, ("email",)),
        ("customers", {"email": "a@example.org", "phone": 612345678}, ("phone",)),
        ("shipping-methods", {"name": "Van", "requires_address": 1}, ("requires_address",)),
        ("payment-methods", {"name": "Cash", "kind": "manual", "fee": False}, ("fee",)),
        ("schedules", {"name": "W", "order_cycle_ids": ["1"]}, ("order_cycle_ids",)),
        (
            "order-cycles",
            {"name": "W", "opens_at": 1893456000, "closes_at": "2031-01-09T09:00"},
            ("opens_at",),
        ),
    ],
)
def test_wrong_json_types_are_refused_on_setup(as_user, setup, path, body, fields):
    """The same strictness on every setup resource."""
    before = (Product.objects.count(), Customer.objects.count(), PaymentMethod.objects.count())
    r = as_user(setup["manager"]).post(f"/enterprises/{setup['shop'].pk}/{path}", body)
    assert_refused(r, *fields)
    after = (Product.objects.count(), Customer.objects.count(), PaymentMethod.objects.count())
    assert after == before


def test_wrong_json_types_are_refused_on_patches(as_user, setup):
    """PATCH bodies are strict too: a flag given as text, a stock given as text, a name given
    as a number, a pause date given as a number; nothing changes."""
    client = as_user(setup["manager"])
    shop, kale = setup["shop"], setup["kale"]
    flag_before, stock_before, name_before = shop.enable_subscriptions, kale.on_hand, kale.name
    r = client.patch(f"/enterprises/{shop.pk}", {"enable_subscriptions": "false"})
    assert_refused(r, "enable_subscriptions")
    assert_refused(client.patch(f"/variants/{kale.pk}", {"on_hand": "8"}), "on_hand")
    assert_refused(client.patch(f"/variants/{kale.pk}", {"name": 8}), "name")
    sid = post_subscription(as_user, setup).data["id"]
    r = client.post(f"/subscriptions/{sid}/pause", {"resume_on": 20310101})
    assert_refused(r, "resume_on")
    shop.refresh_from_db()
    kale.refresh_from_db()
    assert (shop.enable_subscriptions, kale.on_hand, kale.name) == (
        flag_before,
        stock_before,
        name_before,
    )
    assert Subscription.objects.get(pk=sid).paused_at is None


# --- what is still accepted ------------------------------------------------------------------


@pytest.mark.parametrize(
    "begins_at",
    ["2026-01-05T09:00:00", "2026-01-05T09:00:00+01:00", "2026-01-05T08:00:00Z", "2026-01-05"],
)
def test_iso_datetimes_are_accepted(as_user, setup, begins_at):
    """ISO 8601 datetimes with or without an offset (and a bare date) are still read."""
    r = post_subscription(as_user, setup, begins_at=begins_at)
    assert r.status_code == 201, r.data


def test_iso_date_for_resume_on_is_accepted(as_user, setup):
    """A pause's `resume_on` is an ISO date string."""
    client = as_user(setup["manager"])
    sid = post_subscription(as_user, setup).data["id"]
    r = client.post(f"/subscriptions/{sid}/pause", {"resume_on": "2031-01-01"})
    assert r.status_code == 200, r.data
    assert r.data["resume_on"] == "2031-01-01"


@pytest.mark.parametrize(
    "price, stored",
    [("12.50", "12.50"), (12.5, "12.50"), (12, "12.00"), ("0", "0.00"), (0.1, "0.10")],
)
def test_money_as_string_or_number_is_accepted(as_user, setup, price, stored):
    """Money may be given as a string or a JSON number."""
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/products",
        {"name": "Leek", "variants": [{"price": price, "on_hand": 3}]},
    )
    assert r.status_code == 201, r.data
    assert r.data["variants"][0]["price"] == stored


# --- the database's limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, fields",
    [
        ({"customer_id": BIG_ID}, ("customer_id",)),
        ({"line_items": [{"variant_id": BIG_ID, "quantity": 1}]}, ("line_items", "variant_id")),
        ({"line_items": [{"variant_id": 0, "quantity": BIG_COUNT}]}, ("line_items", "quantity")),
    ],
)
def test_ids_and_counts_beyond_the_columns_name_the_field(as_user, setup, overrides, fields):
    """An id beyond 2^63-1 or a quantity beyond 2^31-1 is refused by the schema, naming the
    field (not `__all__`)."""
    for line in overrides.get("line_items", []):
        if line["variant_id"] == 0:
            line["variant_id"] = setup["kale"].pk
    r = post_subscription(as_user, setup, **overrides)
    assert_refused(r, *fields)
    assert "__all__" not in r.data["errors"]
    assert not Subscription.objects.exists()


def test_largest_values_that_fit_are_accepted(as_user, setup):
    """The largest stock the API takes (a million) is accepted; an id at the limit is just
    not found."""
    client = as_user(setup["manager"])
    r = client.patch(f"/variants/{setup['kale'].pk}", {"on_hand": 1_000_000})
    assert r.status_code == 200, r.data
    assert Variant.objects.get(pk=setup["kale"].pk).on_hand == 1_000_000
    r = post_subscription(as_user, setup, customer_id=BIG_ID - 1)
    assert_refused(r, "customer_id")


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("products", {"name": "x" * 201, "variants": [{"price": "1"}]}, "name"),
        ("products", {"name": "Kale", "variants": [{"price": "1", "sku": "s" * 65}]}, "sku"),
        ("products", {"name": "Kale", "variants": [{"price": "1", "unit": "u" * 51}]}, "unit"),
        ("customers", {"email": "a" * 250 + "@x.org"}, "email"),
        ("customers", {"email": "a@example.org", "first_name": "n" * 101}, "first_name"),
        ("customers", {"email": "a@example.org", "tags": "t" * 201}, "tags"),
        ("shipping-methods", {"name": "n" * 201}, "name"),
        ("schedules", {"name": "n" * 201}, "name"),
        ("products", {"name": "Nul\u0000", "variants": [{"price": "1"}]}, "name"),
    ],
)
def test_text_beyond_the_columns_names_the_field(as_user, setup, path, body, field):
    """Text longer than its column (or with a NUL character) is refused naming the field."""
    r = as_user(setup["manager"]).post(f"/enterprises/{setup['shop'].pk}/{path}", body)
    assert_refused(r, field)
    assert "__all__" not in r.data["errors"]


def test_contact_email_beyond_its_column_names_the_field(as_user, db):
    """An enterprise's contact email longer than 254 characters is refused by the schema."""
    r = as_user(f.user(staff=True)).post(
        "/enterprises", {"name": "X", "contact_email": "a" * 250 + "@x.org"}
    )
    assert_refused(r, "contact_email")
    assert not Enterprise.objects.filter(name="X").exists()


@pytest.mark.parametrize(
    "price",
    ["-0.01", -1, "1.005", 0.001, "12345678901.00", 1e11, "NaN", "Infinity"],
)
def test_money_beyond_the_columns_names_the_field(as_user, setup, price):
    """Money below 0, with more than 2 decimals, with more than 10 integer digits, or not a
    finite number, is refused naming the field."""
    r = as_user(setup["manager"]).patch(f"/variants/{setup['kale'].pk}", {"price": price})
    assert_refused(r, "price")
    assert Variant.objects.get(pk=setup["kale"].pk).price == setup["kale"].price


@pytest.mark.parametrize(
    "fee",
    [{"kind": "per_order", "amount": "-1"}, {"kind": "per_item", "amount": "1.234"}],
)
def test_cycle_fee_amounts_are_money(as_user, setup, fee):
    """A cycle fee's amount is money like any other: 422 under `fees` and `amount`."""
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/order-cycles",
        {
            "name": "W",
            "opens_at": "2031-01-06T09:00",
            "closes_at": "2031-01-09T09:00",
            "fees": [{"name": "Fee", **fee}],
        },
    )
    assert_refused(r, "fees", "amount")
    assert not OrderCycle.objects.filter(name="W").exists()
