"""API: enterprises, their managers and supplier permissions."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from cadence.enterprises.models import Enterprise, SupplierPermission
from tests.support import factories as f


def test_staff_creates_an_enterprise(as_user):
    """POST /enterprises by staff answers 201 with the enterprise and its defaults."""
    staff = f.user(staff=True)
    r = as_user(staff).post(
        "/enterprises",
        {
            "name": "La Ruche",
            "is_shop": True,
            "contact_email": "hi@ruche.fr",
            "timezone": "Europe/Paris",
        },
    )
    assert r.status_code == 201, r.data
    assert r.data["name"] == "La Ruche"
    assert r.data["currency"] == "EUR"
    assert r.data["allocation_policy"] == "first_come"
    assert Enterprise.objects.filter(pk=r.data["id"], name="La Ruche").exists()


def test_a_manager_cannot_create_an_enterprise(as_user):
    """POST /enterprises is staff-only: a manager gets 403 and nothing is written."""
    manager = f.user()
    f.shop(managers=[manager])
    r = as_user(manager).post("/enterprises", {"name": "Mine"})
    assert r.status_code == 403
    assert "detail" in r.data
    assert not Enterprise.objects.filter(name="Mine").exists()


def test_create_rejects_bad_timezone_and_currency(as_user):
    """Unknown time zone and malformed currency answer 422 naming both fields."""
    r = as_user(f.user(staff=True)).post(
        "/enterprises", {"name": "X", "timezone": "Mars/Olympus", "currency": "EURO"}
    )
    assert r.status_code == 422
    assert set(r.data["errors"]) == {"timezone", "currency"}
    assert not Enterprise.objects.filter(name="X").exists()


def test_list_shows_only_managed_enterprises(as_user):
    """GET /enterprises: a manager sees theirs, a buyer none, staff all."""
    manager, buyer = f.user(), f.user()
    mine = f.shop(managers=[manager])
    f.shop()
    r = as_user(manager).get("/enterprises")
    assert r.status_code == 200
    assert [e["id"] for e in r.data["items"]] == [mine.pk]
    assert r.data["count"] == 1
    assert as_user(buyer).get("/enterprises").data == {"items": [], "count": 0}
    assert (
        as_user(f.user(staff=True)).get("/enterprises").data["count"] == Enterprise.objects.count()
    )


def test_patch_changes_settings(as_user):
    """PATCH /enterprises/{id} changes only the fields sent."""
    manager = f.user()
    shop = f.shop(managers=[manager], name="Before")
    r = as_user(manager).patch(
        f"/enterprises/{shop.pk}",
        {
            "enable_subscriptions": False,
            "allocation_policy": "fair_share",
            "allow_order_changes": True,
        },
    )
    assert r.status_code == 200, r.data
    shop.refresh_from_db()
    assert (shop.enable_subscriptions, shop.allocation_policy, shop.allow_order_changes) == (
        False,
        "fair_share",
        True,
    )
    assert shop.name == "Before"


def test_patch_rejects_unknown_policy_and_writes_nothing(as_user):
    """An unknown allocation_policy answers 422 naming it; no other field is changed."""
    manager = f.user()
    shop = f.shop(managers=[manager], name="Same")
    r = as_user(manager).patch(
        f"/enterprises/{shop.pk}", {"name": "Changed", "allocation_policy": "lottery"}
    )
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["allocation_policy"]
    shop.refresh_from_db()
    assert shop.name == "Same"


def test_other_managers_enterprise_is_not_found(as_user):
    """Another manager's enterprise answers 404, as if it did not exist."""
    other = f.shop()
    client = as_user(f.user())
    assert client.get(f"/enterprises/{other.pk}").status_code == 404
    assert client.patch(f"/enterprises/{other.pk}", {"name": "Mine"}).status_code == 404
    assert client.get("/enterprises/999999").status_code == 404


def test_add_manager_creates_the_user_when_needed(as_user):
    """POST /enterprises/{id}/managers adds an existing user, or creates the account."""
    manager = f.user()
    existing = f.user("known@example.org")
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    r = client.post(f"/enterprises/{shop.pk}/managers", {"email": "KNOWN@example.org"})
    assert r.status_code == 201
    assert r.data == {"user_id": existing.pk, "email": "known@example.org", "created": False}
    r = client.post(f"/enterprises/{shop.pk}/managers", {"email": "new@example.org"})
    assert r.status_code == 201 and r.data["created"] is True
    new = get_user_model().objects.get(email="new@example.org")
    assert set(shop.managers.all()) == {manager, existing, new}
    assert client.post(f"/enterprises/{shop.pk}/managers", {"email": "nope"}).status_code == 422


def test_suppliers_need_a_manager_of_both(as_user):
    """POST /enterprises/{id}/suppliers: 201 for a manager of shop and producer, 403 for a
    manager of the shop only, 422 for an unknown producer id."""
    both, shop_only = f.user(), f.user()
    shop = f.shop(managers=[both, shop_only])
    farm = f.producer()
    farm.managers.add(both)
    r = as_user(shop_only).post(f"/enterprises/{shop.pk}/suppliers", {"producer_id": farm.pk})
    assert r.status_code == 403
    assert not SupplierPermission.objects.exists()
    r = as_user(both).post(f"/enterprises/{shop.pk}/suppliers", {"producer_id": farm.pk})
    assert r.status_code == 201
    assert r.data == {"shop_id": shop.pk, "producer_id": farm.pk}
    assert SupplierPermission.objects.filter(shop=shop, producer=farm).count() == 1
    r = as_user(both).post(f"/enterprises/{shop.pk}/suppliers", {"producer_id": 999999})
    assert r.status_code == 422 and list(r.data["errors"]) == ["producer_id"]


def test_language_is_shown_and_patchable_and_validated(as_user):
    """The shop's language (for its own emails) defaults to English, can be set to French,
    and an unknown language answers 422 naming `language` with nothing written."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    assert client.get(f"/enterprises/{shop.pk}").data["language"] == "en"

    r = client.patch(f"/enterprises/{shop.pk}", {"language": "fr"})
    assert r.status_code == 200, r.data
    assert r.data["language"] == "fr"
    shop.refresh_from_db()
    assert shop.language == "fr"

    r = client.patch(f"/enterprises/{shop.pk}", {"language": "de", "name": "Changed"})
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["language"]
    shop.refresh_from_db()
    assert (shop.language, shop.name) != ("de", "Changed")
