"""API: order cycles, schedules and the forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from cadence.cycles.models import OrderCycle, Schedule
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    SubscriptionLineItem,
)
from tests.support import factories as f


def test_create_cycle_reads_naive_datetimes_in_shop_zone(as_user):
    """Datetimes without an offset are the shop's local time; answers carry the offset."""
    manager = f.user()
    shop = f.shop(managers=[manager], timezone="Europe/Paris")
    variant = f.variant(shop)
    r = as_user(manager).post(
        f"/enterprises/{shop.pk}/order-cycles",
        {
            "name": "Week 1",
            "opens_at": "2031-01-06T09:00:00",
            "closes_at": "2031-01-09T18:00:00+00:00",
            "variant_ids": [variant.pk],
            "fees": [{"name": "Packing", "kind": "per_item", "amount": "0.2"}],
        },
    )
    assert r.status_code == 201, r.data
    cycle = OrderCycle.objects.get(pk=r.data["id"])
    assert cycle.opens_at == datetime(2031, 1, 6, 8, 0, tzinfo=UTC)  # 09:00 in Paris (CET)
    assert cycle.closes_at == datetime(2031, 1, 9, 18, 0, tzinfo=UTC)
    assert r.data["opens_at"].startswith("2031-01-06T09:00:00") and r.data["opens_at"].endswith(
        "+01:00"
    )
    assert r.data["variant_ids"] == [variant.pk]
    assert r.data["fees"][0]["amount"] == "0.20"


def test_create_cycle_validates(as_user):
    """Dates in the wrong order, another shop's variant, an unknown fee kind: 422 naming the
    field, nothing written."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    foreign = f.variant(f.shop())
    client = as_user(manager)
    path = f"/enterprises/{shop.pk}/order-cycles"
    base = {"name": "W", "opens_at": "2031-01-06T09:00", "closes_at": "2031-01-09T09:00"}
    r = client.post(path, {**base, "closes_at": "2031-01-01T09:00"})
    assert r.status_code == 422 and "closes_at" in r.data["errors"]
    r = client.post(path, {**base, "variant_ids": [foreign.pk]})
    assert r.status_code == 422 and list(r.data["errors"]) == ["variant_ids"]
    r = client.post(path, {**base, "fees": [{"name": "X", "kind": "weekly", "amount": "1"}]})
    assert r.status_code == 422 and list(r.data["errors"]) == ["fees", "kind", "fees.0.kind"]
    r = client.post(path, {**base, "fees": [{"name": "X", "kind": "per_order", "amount": "-1"}]})
    assert r.status_code == 422 and list(r.data["errors"]) == ["fees", "amount", "fees.0.amount"]
    r = client.post(path, {**base, "opens_at": "next monday"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["opens_at"]
    assert not OrderCycle.objects.exists()


def test_get_and_patch_cycle(as_user):
    """PATCH changes the fields sent (lists replace); GET shows the cycle's schedules."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    a, b = f.variant(shop), f.variant(shop)
    cycle = f.order_cycle(shop, variants=[a])
    schedule = f.schedule(shop, [cycle])
    client = as_user(manager)
    r = client.patch(f"/order-cycles/{cycle.pk}", {"name": "Renamed", "variant_ids": [b.pk]})
    assert r.status_code == 200, r.data
    assert (r.data["name"], r.data["variant_ids"]) == ("Renamed", [b.pk])
    r = client.get(f"/order-cycles/{cycle.pk}")
    assert r.data["schedule_ids"] == [schedule.pk]
    r = client.patch(f"/order-cycles/{cycle.pk}", {"closes_at": "2000-01-01T00:00:00Z"})
    assert r.status_code == 422
    assert OrderCycle.objects.get(pk=cycle.pk).name == "Renamed"


def test_schedules_crud(as_user):
    """Create, read, change and delete a schedule; only the shop's cycles may be in it."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    c1, c2 = f.order_cycle(shop), f.order_cycle(shop)
    foreign = f.order_cycle(f.shop())
    client = as_user(manager)
    r = client.post(
        f"/enterprises/{shop.pk}/schedules", {"name": "Weekly", "order_cycle_ids": [c1.pk]}
    )
    assert r.status_code == 201, r.data
    sid = r.data["id"]
    assert r.data["order_cycle_ids"] == [c1.pk]
    r = client.post(
        f"/enterprises/{shop.pk}/schedules", {"name": "Bad", "order_cycle_ids": [foreign.pk]}
    )
    assert r.status_code == 422 and list(r.data["errors"]) == ["order_cycle_ids"]
    r = client.patch(f"/schedules/{sid}", {"order_cycle_ids": [c1.pk, c2.pk]})
    assert r.status_code == 200 and r.data["order_cycle_ids"] == sorted([c1.pk, c2.pk])
    assert client.get(f"/schedules/{sid}").data["name"] == "Weekly"
    assert client.get(f"/enterprises/{shop.pk}/schedules").data["count"] == 1
    assert client.delete(f"/schedules/{sid}").status_code == 204
    assert client.get(f"/schedules/{sid}").status_code == 404
    assert not Schedule.objects.filter(name="Bad").exists()


def test_schedule_delete_refused_while_used(as_user):
    """DELETE answers 409 while a subscription that is not canceled uses the schedule."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    schedule = f.schedule(shop)
    customer = f.customer(shop)
    f.subscription(shop, customer, schedule=schedule, begins_at=timezone.now())
    r = as_user(manager).delete(f"/schedules/{schedule.pk}")
    assert r.status_code == 409 and r.data["detail"]
    assert Schedule.objects.filter(pk=schedule.pk, deleted_at__isnull=True).exists()


def _subscription_with_line(
    shop, cycle, variant, quantity, *, state=ProxyOrderState.PENDING, **fields
):
    sub = f.subscription(shop, f.customer(shop), **fields)
    SubscriptionLineItem.objects.create(subscription=sub, variant=variant, quantity=quantity)
    ProxyOrder.objects.create(subscription=sub, order_cycle=cycle, state=state)
    return sub


def test_forecast(as_user):
    """Requested sums pending deliveries of live subscriptions; on-demand stock is null."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    farm = f.producer(supplies=[shop])
    eggs = f.variant(farm, on_hand=5, product_name="Eggs")
    milk = f.variant(shop, on_demand=True, product_name="Milk")
    cycle = f.order_cycle(shop, opens_at=timezone.now() + timedelta(days=1), variants=[eggs, milk])
    _subscription_with_line(shop, cycle, eggs, 4)
    _subscription_with_line(shop, cycle, eggs, 3)
    _subscription_with_line(shop, cycle, milk, 2)
    _subscription_with_line(shop, cycle, eggs, 10, paused_at=timezone.now())
    _subscription_with_line(shop, cycle, eggs, 10, canceled_at=timezone.now())
    _subscription_with_line(shop, cycle, eggs, 10, state=ProxyOrderState.CANCELED)
    _subscription_with_line(shop, cycle, eggs, 10, state=ProxyOrderState.PLACED)
    r = as_user(manager).get(f"/order-cycles/{cycle.pk}/forecast")
    assert r.status_code == 200
    rows = {row["variant_id"]: row for row in r.data}
    assert rows[eggs.pk] == {
        "variant_id": eggs.pk,
        "producer_id": farm.pk,
        "requested": 7,
        "on_hand": 5,
        "shortfall": 2,
    }
    assert rows[milk.pk] == {
        "variant_id": milk.pk,
        "producer_id": shop.pk,
        "requested": 2,
        "on_hand": None,
        "shortfall": 0,
    }
    assert len(r.data) == 2


def test_cycles_of_other_shops_are_not_found(as_user):
    """Cycles and schedules of a shop you do not manage answer 404."""
    shop = f.shop()
    cycle = f.order_cycle(shop)
    schedule = f.schedule(shop, [cycle])
    client = as_user(f.user())
    assert client.get(f"/order-cycles/{cycle.pk}").status_code == 404
    assert client.patch(f"/order-cycles/{cycle.pk}", {"name": "x"}).status_code == 404
    assert client.get(f"/order-cycles/{cycle.pk}/forecast").status_code == 404
    assert client.get(f"/schedules/{schedule.pk}").status_code == 404
    assert client.delete(f"/schedules/{schedule.pk}").status_code == 404
