"""Writes on customer lists."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cadence.customers.models import Customer
from cadence.customers.services import customer_create, customer_delete, customer_update
from cadence.errors import Conflict, ValidationFailed
from cadence.subscriptions.models import Subscription
from tests import factories as f


def test_create_links_account_and_cleans_addresses(db):
    """The customer is linked to the user with that email; addresses are normalised."""
    shop = f.shop()
    buyer = f.user("eve@example.org")
    customer = customer_create(
        shop=shop, email=" EVE@example.org ", ship_address=f.address(country="be")
    )
    assert customer.user == buyer
    assert customer.email == "EVE@example.org"
    assert customer.ship_address["country"] == "BE"
    assert customer.bill_address is None


def test_email_unique_per_shop_case_insensitive(db):
    """The same email is refused on one shop's list, allowed on another's."""
    shop = f.shop()
    customer_create(shop=shop, email="a@example.org")
    with pytest.raises(ValidationFailed) as exc:
        customer_create(shop=shop, email="A@EXAMPLE.ORG")
    assert list(exc.value.errors) == ["email"]
    customer_create(shop=f.shop(), email="A@example.org")
    assert Customer.objects.count() == 2


def test_update_validates_everything_before_writing(db):
    """A bad language and a bad address fail together; the name sent alongside is not saved."""
    customer = f.customer(f.shop(), first_name="Old")
    with pytest.raises(ValidationFailed) as exc:
        customer_update(
            customer=customer,
            changes={"first_name": "New", "language": "de", "bill_address": {"country": "X"}},
        )
    assert set(exc.value.errors) == {"language", "bill_address"}
    customer.refresh_from_db()
    assert customer.first_name == "Old"


def test_delete(db):
    """Refused while a subscription is not canceled; a customer with no history goes."""
    shop = f.shop()
    customer = f.customer(shop)
    Subscription.objects.create(
        shop=shop,
        customer=customer,
        schedule=f.schedule(shop),
        payment_method=f.payment_method(shop),
        shipping_method=f.shipping_method(shop),
        bill_address=f.address(),
        ship_address=f.address(),
        begins_at=timezone.now(),
    )
    with pytest.raises(Conflict):
        customer_delete(customer=customer)
    assert Customer.objects.filter(pk=customer.pk).exists()
    other = f.customer(shop)
    customer_delete(customer=other)
    assert not Customer.objects.filter(pk=other.pk).exists()
