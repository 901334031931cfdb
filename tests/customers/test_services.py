"""Writes on customer lists."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cadence.customers.models import Customer
from cadence.customers.selectors import (
    customer_for_manager,
    customers_for_shop,
    customers_of_buyer,
)
from cadence.customers.services import customer_create, customer_delete, customer_update
from cadence.errors import Conflict, NotFound, ValidationFailed
from cadence.orders.models import Order
from cadence.subscriptions.models import Subscription
from cadence.subscriptions.services.lifecycle import subscription_create
from tests.support import factories as f


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


def _order(shop, customer) -> Order:
    return Order.objects.create(
        number=f"R{Order.objects.count() + 1}",
        shop=shop,
        order_cycle=f.order_cycle(shop),
        customer=customer,
        email=customer.email,
        state="complete",
        item_total=Decimal("4.00"),
        fee_total=Decimal("0.50"),
        total=Decimal("4.50"),
        placed_at=timezone.now(),
    )


def test_delete_refused_while_subscriptions_count(db):
    """Active, paused (even past its end) and not-yet-begun subscriptions block the delete;
    the message counts them and nothing is changed."""
    shop = f.shop()
    customer = f.customer(shop)
    now = timezone.now()
    f.subscription(shop, customer)
    f.subscription(shop, customer, paused_at=now, ends_at=now - timedelta(days=1))
    f.subscription(shop, customer, begins_at=now + timedelta(days=3))
    f.subscription(shop, customer, canceled_at=now)
    with pytest.raises(Conflict) as exc:
        customer_delete(customer=customer)
    assert "3 subscriptions that are not canceled" in str(exc.value)
    customer.refresh_from_db()
    assert customer.deleted_at is None
    assert list(customers_for_shop(shop=shop)) == [customer]


def test_delete_with_history_is_soft(db):
    """With only canceled and ended subscriptions and past orders left, the customer is
    kept for the record but leaves every read; its email can be added again."""
    shop = f.shop()
    buyer = f.user("kim@example.org")
    customer = customer_create(shop=shop, email="kim@example.org")
    now = timezone.now()
    canceled = f.subscription(shop, customer, canceled_at=now)
    ended = f.subscription(shop, customer, ends_at=now - timedelta(days=1))
    order = _order(shop, customer)

    customer_delete(customer=customer, now=now)

    customer.refresh_from_db()
    assert customer.deleted_at == now
    assert Subscription.objects.filter(customer=customer).count() == 2
    assert {canceled.pk, ended.pk} == set(customer.subscriptions.values_list("pk", flat=True))
    assert Order.objects.get(pk=order.pk).customer_id == customer.pk
    assert list(customers_for_shop(shop=shop)) == []
    assert list(customers_of_buyer(buyer)) == []
    with pytest.raises(NotFound):
        customer_for_manager(user=f.user(staff=True), customer_id=customer.pk)

    again = customer_create(shop=shop, email="KIM@example.org")
    assert again.pk != customer.pk and again.user == buyer
    assert list(customers_for_shop(shop=shop)) == [again]
    assert list(customers_of_buyer(buyer)) == [again]
    # Deleting twice is harmless: the row stays as it was.
    customer_delete(customer=customer)
    assert Customer.objects.filter(pk=customer.pk, deleted_at=now).exists()


def test_deleted_customer_cannot_be_subscribed(db):
    """Subscription creation answers for a removed customer exactly as for an unknown id."""
    shop = f.shop()
    customer = f.customer(shop)
    _order(shop, customer)
    customer_delete(customer=customer)
    answers = []
    for customer_id in (customer.pk, customer.pk + 1000):
        with pytest.raises(ValidationFailed) as exc:
            subscription_create(
                shop=shop,
                customer_id=customer_id,
                schedule_id=None,
                payment_method_id=None,
                shipping_method_id=None,
                begins_at=None,
                line_items=[],
            )
        answers.append(exc.value.errors["customer_id"])
    assert answers[0] == answers[1]
    assert "not available" in answers[0][0]
    assert not Subscription.objects.exists()


def test_delete_without_history_removes_the_row(db):
    """A customer nothing refers to is deleted for good."""
    shop = f.shop()
    customer = f.customer(shop)
    customer_delete(customer=customer)
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_email_unique_among_live_customers_only(db):
    """The database refuses two live customers with one email on a shop, not a removed one."""
    shop = f.shop()
    Customer.objects.create(shop=shop, email="x@example.org", deleted_at=timezone.now())
    Customer.objects.create(shop=shop, email="X@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(shop=shop, email="x@EXAMPLE.org")
    assert Customer.objects.filter(shop=shop).count() == 2
