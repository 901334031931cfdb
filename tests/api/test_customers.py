"""API: customer lists."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cadence.customers.models import Customer
from cadence.subscriptions.models import Subscription
from tests.support import factories as f
from tests.support.api import make_order


def test_create_customer(as_user):
    """POST customers answers 201; the customer is linked to the account with that email."""
    manager = f.user()
    buyer = f.user("ann@example.org")
    shop = f.shop(managers=[manager])
    r = as_user(manager).post(
        f"/enterprises/{shop.pk}/customers",
        {"email": "Ann@example.org", "first_name": "Ann", "bill_address": f.address(country="fr")},
    )
    assert r.status_code == 201, r.data
    customer = Customer.objects.get(pk=r.data["id"])
    assert customer.user == buyer
    assert customer.bill_address["country"] == "FR"
    assert r.data["has_account"] is True


def test_duplicate_email_and_bad_address_are_422(as_user):
    """Email already on the list (any case) and an address missing fields answer 422."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    f.customer(shop, "bob@example.org")
    client = as_user(manager)
    r = client.post(f"/enterprises/{shop.pk}/customers", {"email": "BOB@example.org"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["email"]
    r = client.post(
        f"/enterprises/{shop.pk}/customers",
        {"email": "new@example.org", "ship_address": {"first_name": "N", "country": "France"}},
    )
    assert r.status_code == 422 and list(r.data["errors"]) == [
        "ship_address",
        "country",
        "ship_address.country",
    ]
    r = client.post(f"/enterprises/{shop.pk}/customers", {"email": "not-an-email"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["email"]
    assert Customer.objects.count() == 1


def test_get_patch_customer(as_user):
    """GET and PATCH /customers/{id}; changing to a taken email is refused."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    customer = f.customer(shop, "c@example.org")
    f.customer(shop, "taken@example.org")
    client = as_user(manager)
    r = client.get(f"/customers/{customer.pk}")
    assert r.status_code == 200 and r.data["email"] == "c@example.org"
    r = client.patch(f"/customers/{customer.pk}", {"first_name": "Cleo", "code": "C-1"})
    assert r.status_code == 200 and (r.data["first_name"], r.data["code"]) == ("Cleo", "C-1")
    r = client.patch(f"/customers/{customer.pk}", {"email": "Taken@example.org"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["email"]
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("c@example.org", "Cleo")


def test_delete_refused_with_active_subscription(as_user):
    """DELETE answers 409 while a subscription is active or paused, changing nothing; a
    customer with no history answers 204 and its row is gone."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    customer = f.customer(shop)
    subscription = f.subscription(shop, customer)
    client = as_user(manager)
    r = client.delete(f"/customers/{customer.pk}")
    assert r.status_code == 409 and "subscription" in r.data["detail"]
    assert Customer.objects.filter(pk=customer.pk).exists()
    lonely = f.customer(shop)
    assert client.delete(f"/customers/{lonely.pk}").status_code == 204
    assert not Customer.objects.filter(pk=lonely.pk).exists()
    subscription.paused_at = subscription.begins_at
    subscription.save()
    r = client.delete(f"/customers/{customer.pk}")
    assert r.status_code == 409
    assert r.data["detail"] == (
        "This customer has 1 subscription that is not canceled: cancel it first."
    )
    customer.refresh_from_db()
    assert customer.deleted_at is None
    assert client.get(f"/customers/{customer.pk}").status_code == 200


def test_delete_with_history_keeps_it_and_frees_the_email(as_user):
    """With only canceled and ended subscriptions and past orders, DELETE answers 204: the
    customer is gone from GET and the list, its orders still name it, the email is free."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    customer = f.customer(shop, "dee@example.org")
    kept = f.customer(shop, "kept@example.org")
    now = timezone.now()
    canceled = f.subscription(shop, customer, canceled_at=now)
    ended = f.subscription(shop, customer, ends_at=now - timedelta(minutes=1))
    variant = f.variant(shop)
    order = make_order(
        shop, f.order_cycle(shop, variants=[variant]), customer, variant, number="R7"
    )
    client = as_user(manager)

    r = client.delete(f"/customers/{customer.pk}")
    assert r.status_code == 204, r.data
    assert client.get(f"/customers/{customer.pk}").status_code == 404
    assert client.patch(f"/customers/{customer.pk}", {"code": "X"}).status_code == 404
    assert client.delete(f"/customers/{customer.pk}").status_code == 404
    r = client.get(f"/enterprises/{shop.pk}/customers")
    assert [c["id"] for c in r.data["items"]] == [kept.pk]
    r = client.get(f"/orders/{order.pk}")
    assert r.status_code == 200 and r.data["customer_id"] == customer.pk
    assert set(Subscription.objects.filter(customer=customer).values_list("pk", flat=True)) == {
        canceled.pk,
        ended.pk,
    }
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None

    r = client.post(f"/enterprises/{shop.pk}/customers", {"email": "Dee@example.org"})
    assert r.status_code == 201, r.data
    assert r.data["id"] != customer.pk
    r = client.get(f"/enterprises/{shop.pk}/customers")
    assert [c["email"] for c in r.data["items"]] == ["Dee@example.org", "kept@example.org"]


def test_deleted_customer_cannot_be_subscribed(as_user):
    """POST subscriptions with a removed customer answers 422 on customer_id, as for an
    unknown id."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    customer = f.customer(shop)
    f.subscription(shop, customer, canceled_at=timezone.now())
    client = as_user(manager)
    assert client.delete(f"/customers/{customer.pk}").status_code == 204
    variant = f.variant(shop)
    cycle = f.order_cycle(shop, variants=[variant])
    body = {
        "schedule_id": f.schedule(shop, [cycle]).pk,
        "payment_method_id": f.payment_method(shop).pk,
        "shipping_method_id": f.shipping_method(shop).pk,
        "begins_at": timezone.now().isoformat(),
        "bill_address": f.address(),
        "ship_address": f.address(),
        "line_items": [{"variant_id": variant.pk, "quantity": 1}],
    }
    answers = []
    for customer_id in (customer.pk, customer.pk + 1000):
        r = client.post(
            f"/enterprises/{shop.pk}/subscriptions", {**body, "customer_id": customer_id}
        )
        assert r.status_code == 422, r.data
        answers.append(r.data["errors"])
    assert answers[0] == answers[1]
    assert list(answers[0]) == ["customer_id"]
    assert Subscription.objects.count() == 1


def test_customers_of_other_shops_are_not_found(as_user):
    """Another shop's customer answers 404 to GET, PATCH and DELETE."""
    customer = f.customer(f.shop())
    client = as_user(f.user())
    assert client.get(f"/customers/{customer.pk}").status_code == 404
    assert client.patch(f"/customers/{customer.pk}", {"code": "X"}).status_code == 404
    assert client.delete(f"/customers/{customer.pk}").status_code == 404
    assert Customer.objects.filter(pk=customer.pk, code="").exists()
