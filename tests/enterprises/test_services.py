"""Writes on enterprises: creation, settings, managers, supplier permissions."""

from __future__ import annotations

import pytest

from cadence.enterprises.models import Enterprise, SupplierPermission
from cadence.enterprises.services import (
    enterprise_create,
    enterprise_manager_add,
    enterprise_supplier_add,
    enterprise_update,
)
from cadence.errors import PermissionDenied, ValidationFailed
from tests.support import factories as f


def test_create_normalises_and_validates(db):
    """Currency is upper-cased; blank name, unknown zone and neither shop nor producer fail
    together, with nothing written."""
    ent = enterprise_create(name=" Farm ", is_shop=False, is_producer=True, currency="chf")
    assert (ent.name, ent.currency, ent.timezone) == ("Farm", "CHF", "Europe/Paris")
    with pytest.raises(ValidationFailed) as exc:
        enterprise_create(name="", is_shop=False, is_producer=False, timezone="Nowhere/City")
    assert set(exc.value.errors) == {"name", "timezone", "__all__"}
    assert Enterprise.objects.count() == 1


def test_update_refuses_unknown_fields(db):
    """Only editable fields change; `is_shop` cannot be changed after creation."""
    shop = f.shop()
    with pytest.raises(ValidationFailed) as exc:
        enterprise_update(enterprise=shop, changes={"is_shop": False, "name": "N"})
    assert list(exc.value.errors) == ["is_shop"]
    enterprise_update(enterprise=shop, changes={"contact_email": "a@b.org", "currency": "gbp"})
    shop.refresh_from_db()
    assert (shop.contact_email, shop.currency) == ("a@b.org", "GBP")


def test_manager_add_is_idempotent(db):
    """Adding the same email twice makes one user and one membership."""
    shop = f.shop()
    user, created = enterprise_manager_add(enterprise=shop, email="Boss@Example.org")
    again, created_again = enterprise_manager_add(enterprise=shop, email="boss@example.org")
    assert (created, created_again) == (True, False)
    assert user == again and list(shop.managers.all()) == [user]
    assert not user.has_usable_password()


def test_supplier_add_needs_the_producers_consent(db):
    """A manager of the shop only is refused; staff and producer managers may; twice is once."""
    shop, farm = f.shop(), f.producer()
    outsider, farmer = f.user(), f.user()
    farm.managers.add(farmer)
    with pytest.raises(PermissionDenied):
        enterprise_supplier_add(shop=shop, producer=farm, actor=outsider)
    enterprise_supplier_add(shop=shop, producer=farm, actor=farmer)
    enterprise_supplier_add(shop=shop, producer=farm, actor=f.user(staff=True))
    assert SupplierPermission.objects.filter(shop=shop, producer=farm).count() == 1
    with pytest.raises(ValidationFailed) as exc:
        enterprise_supplier_add(shop=shop, producer=f.shop(), actor=None)
    assert list(exc.value.errors) == ["producer_id"]
