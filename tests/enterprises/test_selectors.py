"""Tenancy checks: who may see which enterprise and what belongs to it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from cadence.customers.models import Customer
from cadence.enterprises.selectors import (
    enterprise_for_manager,
    enterprises_for_user,
    object_for_manager,
    scoped_to_manager,
    user_manages,
)
from cadence.errors import NotFound
from tests.support import factories as f


@pytest.fixture
def two_shops(db):
    manager, other = f.user(), f.user()
    mine = f.shop(managers=[manager])
    theirs = f.shop(managers=[other])
    return manager, mine, theirs


def test_enterprises_for_user(two_shops):
    """Managers see theirs, staff all, a buyer and anonymous none."""
    manager, mine, theirs = two_shops
    assert list(enterprises_for_user(manager)) == [mine]
    assert set(enterprises_for_user(f.user(staff=True))) == {mine, theirs}
    assert not enterprises_for_user(f.user()).exists()
    assert not enterprises_for_user(AnonymousUser()).exists()
    assert not enterprises_for_user(None).exists()


def test_enterprise_for_manager_hides_others(two_shops):
    """Another manager's enterprise raises NotFound, exactly like an unknown id."""
    manager, mine, theirs = two_shops
    assert enterprise_for_manager(user=manager, enterprise_id=mine.pk) == mine
    with pytest.raises(NotFound):
        enterprise_for_manager(user=manager, enterprise_id=theirs.pk)
    with pytest.raises(NotFound):
        enterprise_for_manager(user=manager, enterprise_id=999999)
    assert enterprise_for_manager(user=f.user(staff=True), enterprise_id=theirs.pk) == theirs


def test_object_scoping_through_a_path(two_shops):
    """Rows are scoped through their shop field; a co-managed shop lists each row once."""
    manager, mine, theirs = two_shops
    theirs.managers.add(f.user())
    mine.managers.add(f.user())
    own = f.customer(mine)
    foreign = f.customer(theirs)
    assert list(scoped_to_manager(Customer.objects.all(), user=manager)) == [own]
    assert object_for_manager(user=manager, queryset=Customer.objects.all(), pk=own.pk) == own
    with pytest.raises(NotFound):
        object_for_manager(user=manager, queryset=Customer.objects.all(), pk=foreign.pk)
    variant = f.variant(theirs)
    from cadence.catalog.models import Variant

    staff = f.user(staff=True)
    assert (
        object_for_manager(
            user=staff,
            queryset=Variant.objects.all(),
            pk=variant.pk,
            shop_field="product__supplier",
        )
        == variant
    )


def test_user_manages(two_shops):
    """Only listed managers manage; staff rights are not management."""
    manager, mine, theirs = two_shops
    assert user_manages(user=manager, enterprise=mine) is True
    assert user_manages(user=manager, enterprise=theirs) is False
    assert user_manages(user=f.user(staff=True), enterprise=mine) is False
