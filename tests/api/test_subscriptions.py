"""API: subscriptions, their proxy orders, and skipping or resuming a delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from tests.support import factories as f
from tests.support.api import subscription_body, subscription_shop
from tests.support.contract import SUBSCRIPTION_FIELDS


@pytest.fixture
def setup(db):
    """A shop with a manager, two variants, an upcoming cycle in a schedule, a customer and
    its methods."""
    return subscription_shop()


def test_create_subscription(as_user, setup):
    """POST subscriptions answers 201 with the detail; addresses default to the customer's
    and a proxy order exists for the upcoming cycle."""
    client = as_user(setup["manager"])
    r = client.post(f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup))
    assert r.status_code == 201, r.data
    assert SUBSCRIPTION_FIELDS <= set(r.data)
    assert r.data["status"] == "active"
    assert r.data["bill_address"] == setup["customer"].bill_address
    [line] = r.data["line_items"]
    assert (line["variant_id"], line["quantity"], line["price_estimate"], line["available"]) == (
        setup["kale"].pk,
        2,
        "2.00",
        True,
    )
    assert r.data["estimates"]["items"] == "4.00"
    sub = Subscription.objects.get(pk=r.data["id"])
    assert sub.proxy_orders.get().order_cycle == setup["cycle"]
    r = client.get(f"/subscriptions/{sub.pk}/proxy-orders")
    assert r.status_code == 200
    assert r.data == [
        {
            "id": sub.proxy_orders.get().pk,
            "subscription_id": sub.pk,
            "order_cycle_id": setup["cycle"].pk,
            "state": "pending",
            "order_id": None,
            "reason": "",
        }
    ]


def test_estimates_count_every_fee_and_follow_current_prices(as_user, setup):
    """Detail and list show the same estimates: items at the variant's current price, and
    every fee the order will pay (cycle per order, per item, percent, shipping, payment)."""
    client = as_user(setup["manager"])
    cycle = setup["cycle"]
    cycle.fees.create(name="Hub", kind="per_order", amount="1.00")
    cycle.fees.create(name="Packing", kind="per_item", amount="0.25")
    cycle.fees.create(name="Share", kind="percent", amount="10")
    setup["shipping_method"].fee = "3.00"
    setup["shipping_method"].save()
    sid = client.post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup)
    ).data["id"]
    setup["kale"].price = "2.50"
    setup["kale"].save()
    r = client.get(f"/subscriptions/{sid}")
    assert r.data["line_items"][0]["price_estimate"] == "2.50"
    # Items 2 × 2.50; fees 1.00 + 2 × 0.25 + 10 % of 5.00 + shipping 3.00.
    assert r.data["estimates"] == {"items": "5.00", "fees": "5.00", "total": "10.00"}
    listed = client.get(f"/enterprises/{setup['shop'].pk}/subscriptions").data["items"]
    assert listed[0]["estimates"] == r.data["estimates"]


def test_list_estimates_take_few_queries(as_user, setup, django_assert_max_num_queries):
    """Listing many subscriptions computes their estimates in a few queries, not per row."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/subscriptions"
    for i in range(6):
        customer = f.customer(setup["shop"], f"c{i}@example.org")
        assert (
            client.post(path, subscription_body(setup, customer_id=customer.pk)).status_code == 201
        )
    with django_assert_max_num_queries(12):
        r = client.get(path)
    assert r.data["count"] == 6


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"line_items": [{"variant_id": 0, "quantity": 0}]}, ("line_items", "quantity")),
        ({"line_items": [{"variant_id": 0, "quantity": -2}]}, ("line_items", "quantity")),
        ({"line_items": []}, "line_items"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": "abc"}, "customer_id"),
        ({"begins_at": "yesterday"}, "begins_at"),
        ({"ends_at": "2000-01-01T00:00:00"}, "ends_at"),
        ({"schedule_id": 999999}, "schedule_id"),
    ],
)
def test_create_rejects_bad_input(as_user, setup, overrides, field):
    """Bad input answers 422 naming the field (a line's quantity under both `line_items` and
    `quantity`), and no subscription is written."""
    data = subscription_body(setup, **overrides)
    for line in data["line_items"]:
        line["variant_id"] = line["variant_id"] or setup["kale"].pk
    r = as_user(setup["manager"]).post(f"/enterprises/{setup['shop'].pk}/subscriptions", data)
    assert r.status_code == 422, r.data
    # A nested error is under the top-level field and under its own name.
    for name in field if isinstance(field, tuple) else (field,):
        assert name in r.data["errors"], r.data
    assert not Subscription.objects.exists()


def test_create_rejects_other_shops_ids(as_user, setup):
    """A customer, method or variant of another shop is not available: 422 naming each."""
    other = f.shop()
    data = subscription_body(
        setup,
        customer_id=f.customer(other).pk,
        payment_method_id=f.payment_method(other).pk,
        line_items=[{"variant_id": f.variant(other).pk, "quantity": 1}],
    )
    r = as_user(setup["manager"]).post(f"/enterprises/{setup['shop'].pk}/subscriptions", data)
    assert r.status_code == 422
    assert {"customer_id", "payment_method_id", "line_items"} <= set(r.data["errors"])
    assert not Subscription.objects.exists()


def test_list_and_filter(as_user, setup):
    """GET subscriptions filters by status, q and schedule; an unknown status is 422."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/subscriptions"
    first = client.post(path, subscription_body(setup)).data["id"]
    later = (timezone.now() + timedelta(days=1)).isoformat()
    second = client.post(
        path,
        subscription_body(
            setup, customer_id=f.customer(setup["shop"], "zoe@example.org").pk, begins_at=later
        ),
    ).data["id"]
    assert client.get(path).data["count"] == 2
    assert [s["id"] for s in client.get(path, status="active").data["items"]] == [first]
    assert [s["id"] for s in client.get(path, status="pending").data["items"]] == [second]
    assert [s["id"] for s in client.get(path, q="zoe").data["items"]] == [second]
    assert client.get(path, schedule_id=setup["schedule"].pk).data["count"] == 2
    r = client.get(path, status="sleeping")
    assert r.status_code == 422 and list(r.data["errors"]) == ["status"]


def test_patch_replaces_lines_and_refuses_fixed_fields(as_user, setup):
    """PATCH replaces line_items and answers order_update_issues; customer_id cannot change."""
    client = as_user(setup["manager"])
    sid = client.post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup)
    ).data["id"]
    r = client.patch(
        f"/subscriptions/{sid}", {"line_items": [{"variant_id": setup["leek"].pk, "quantity": 3}]}
    )
    assert r.status_code == 200, r.data
    assert r.data["order_update_issues"] == []
    assert [(li["variant_id"], li["quantity"]) for li in r.data["line_items"]] == [
        (setup["leek"].pk, 3)
    ]
    r = client.patch(f"/subscriptions/{sid}", {"customer_id": f.customer(setup["shop"]).pk})
    assert r.status_code == 422 and list(r.data["errors"]) == ["customer_id"]
    r = client.patch(f"/subscriptions/{sid}", {"line_items": [{"variant_id": 1, "quantity": 0}]})
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["line_items", "quantity", "line_items.0.quantity"]
    sub = Subscription.objects.get(pk=sid)
    assert [(li.variant_id, li.quantity) for li in sub.line_items.all()] == [(setup["leek"].pk, 3)]


def test_pause_unpause_cancel(as_user, setup):
    """Pause with a resume date, unpause, then cancel; a second cancel is 409."""
    client = as_user(setup["manager"])
    sid = client.post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup)
    ).data["id"]
    resume_on = (timezone.now() + timedelta(days=10)).date().isoformat()
    r = client.post(f"/subscriptions/{sid}/pause", {"open_orders": "keep", "resume_on": resume_on})
    assert r.status_code == 200, r.data
    assert (r.data["status"], r.data["resume_on"]) == ("paused", resume_on)
    r = client.post(f"/subscriptions/{sid}/pause", {"open_orders": "maybe"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["open_orders"]
    r = client.post(f"/subscriptions/{sid}/unpause")
    assert r.status_code == 200 and r.data["status"] == "active"
    r = client.post(f"/subscriptions/{sid}/cancel", {"open_orders": "cancel"})
    assert r.status_code == 200 and r.data["status"] == "canceled"
    assert r.data["canceled_at"] is not None
    assert client.post(f"/subscriptions/{sid}/cancel", {"open_orders": "cancel"}).status_code == 409
    assert ProxyOrder.objects.get(subscription_id=sid).state == ProxyOrderState.CANCELED


def test_skip_and_resume_a_delivery(as_user, setup):
    """Cancel then resume one proxy order; once its cycle has closed both answer 409."""
    client = as_user(setup["manager"])
    sid = client.post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup)
    ).data["id"]
    proxy = ProxyOrder.objects.get(subscription_id=sid)
    r = client.post(f"/proxy-orders/{proxy.pk}/cancel")
    assert r.status_code == 200, r.data
    assert r.data["state"] == "canceled"
    r = client.post(f"/proxy-orders/{proxy.pk}/resume")
    assert r.status_code == 200 and r.data["state"] == "pending"
    cycle = setup["cycle"]
    cycle.opens_at = timezone.now() - timedelta(days=3)
    cycle.closes_at = timezone.now() - timedelta(days=1)
    cycle.save()
    r = client.post(f"/proxy-orders/{proxy.pk}/cancel")
    assert r.status_code == 409 and r.data["detail"]
    assert client.post(f"/proxy-orders/{proxy.pk}/resume").status_code == 409
    assert ProxyOrder.objects.get(pk=proxy.pk).state == ProxyOrderState.PENDING


def test_other_shops_subscriptions_are_not_found(as_user, setup):
    """Another manager gets 404 on the subscription, its proxy orders and its actions."""
    sid = (
        as_user(setup["manager"])
        .post(f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup))
        .data["id"]
    )
    proxy = ProxyOrder.objects.get(subscription_id=sid)
    stranger = as_user(f.user())
    assert stranger.get(f"/subscriptions/{sid}").status_code == 404
    assert stranger.patch(f"/subscriptions/{sid}", {"ends_at": None}).status_code == 404
    assert stranger.post(f"/subscriptions/{sid}/cancel", {"open_orders": "keep"}).status_code == 404
    assert stranger.get(f"/subscriptions/{sid}/proxy-orders").status_code == 404
    assert stranger.post(f"/proxy-orders/{proxy.pk}/cancel").status_code == 404
    assert (
        stranger.post(
            f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup)
        ).status_code
        == 404
    )
    assert Subscription.objects.get(pk=sid).canceled_at is None


def test_naive_datetimes_are_read_in_the_shop_zone(as_user, setup):
    """begins_at without an offset is the shop's local time; the answer carries the offset."""
    shop = setup["shop"]
    shop.timezone = "America/New_York"
    shop.save()
    r = as_user(setup["manager"]).post(
        f"/enterprises/{shop.pk}/subscriptions",
        subscription_body(
            setup, begins_at="2031-07-01T08:00:00", ends_at="2032-07-01T08:00:00-04:00"
        ),
    )
    assert r.status_code == 201, r.data
    sub = Subscription.objects.get(pk=r.data["id"])
    assert sub.begins_at.isoformat() == "2031-07-01T12:00:00+00:00"
    assert r.data["begins_at"] == "2031-07-01T08:00:00-04:00"
    assert r.data["status"] == "pending"
