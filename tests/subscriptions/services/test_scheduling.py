"""Order cycles and schedules, as the API changes them: validation, proxy-order sync,
deletion guards, processing scheduled after commit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cadence.cycles.models import OrderCycle, Schedule
from cadence.errors import Conflict, ValidationFailed
from cadence.subscriptions.services import scheduling
from cadence.subscriptions.services.lifecycle import subscription_cancel
from tests.support import factories
from tests.support.subscriptions import place, subscribe, world

pytestmark = pytest.mark.django_db


def cycles_of(sub) -> set[int]:
    return set(sub.proxy_orders.values_list("order_cycle_id", flat=True))


def test_create_cycle_validates_fields():
    """Dates in order, sellable variants, valid fees; errors by field."""
    w = world()
    stranger = factories.variant(factories.producer())
    with pytest.raises(ValidationFailed) as exc:
        scheduling.order_cycle_create(
            shop=w.shop,
            name="",
            opens_at=w.now,
            closes_at=w.now,
            variant_ids=[stranger.pk],
            fees=[{"name": "Pack", "kind": "weekly", "amount": "-1"}],
            now=w.now,
        )
    assert exc.value.errors == {
        "name": ["Name is required"],
        "closes_at": ["Closes at must be after opens at"],
        "variant_ids": [f"Variant {stranger.pk} is not available to Green Grocer"],
        "fees": [
            "Fee 1: kind must be one of per_order, per_item, percent",
            "Fee 1: amount must be zero or more",
        ],
    }
    assert not OrderCycle.objects.filter(name="").exists()


def test_create_cycle_schedules_processing_after_commit(django_capture_on_commit_callbacks):
    """A new cycle has its variants and fees, and its processing is enqueued on commit."""
    w = world()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        oc = scheduling.order_cycle_create(
            shop=w.shop,
            name="Week 12",
            opens_at=w.now + timedelta(days=20),
            closes_at=w.now + timedelta(days=25),
            variant_ids=[w.apples.pk],
            fees=[{"name": "Packing", "kind": "per_item", "amount": "0.30"}],
            now=w.now,
        )
    assert [c.__qualname__ for c in callbacks] == ["_process_after_commit.<locals>.enqueue"]
    assert list(oc.variants.all()) == [w.apples]
    assert list(oc.fees.values_list("name", "kind", "amount")) == [
        ("Packing", "per_item", Decimal("0.30"))
    ]


def test_redating_a_cycle_syncs_subscriptions():
    """Moving an upcoming cycle past a subscription's end drops its pending proxy order."""
    w = world()
    sub = subscribe(w, ends_at=w.now + timedelta(days=12))
    scheduling.order_cycle_update(
        order_cycle=w.upcoming, changes={"closes_at": w.now + timedelta(days=13)}, now=w.now
    )
    assert cycles_of(sub) == {w.open.pk}


def test_update_replaces_variants_and_fees_only_when_given():
    """variant_ids and fees replace the lists; leaving them out keeps them."""
    w = world()
    scheduling.order_cycle_update(order_cycle=w.upcoming, changes={"name": "Renamed"}, now=w.now)
    assert w.upcoming.variants.count() == 2
    scheduling.order_cycle_update(
        order_cycle=w.upcoming,
        changes={
            "variant_ids": [w.pears.pk],
            "fees": [{"name": "F", "kind": "percent", "amount": 5}],
        },
        now=w.now,
    )
    assert list(w.upcoming.variants.all()) == [w.pears]
    assert w.upcoming.fees.get().kind == "percent"


def test_closing_a_cycle_early_is_allowed():
    """Moving closes_at to the past (after opens_at) closes the cycle."""
    w = world()
    oc = scheduling.order_cycle_update(
        order_cycle=w.open, changes={"closes_at": w.now - timedelta(minutes=1)}, now=w.now
    )
    assert oc.closes_at < w.now


def test_clone_copies_variants_fees_schedules_and_syncs():
    """The clone is in the same schedules, so subscriptions get a proxy order for it."""
    w = world()
    w.upcoming.fees.create(name="Packing", kind="per_order", amount=Decimal("1"))
    sub = subscribe(w)
    clone = scheduling.order_cycle_clone(
        order_cycle=w.upcoming,
        opens_at=w.now + timedelta(days=12),
        closes_at=w.now + timedelta(days=18),
        now=w.now,
    )
    assert clone.name == f"{w.upcoming.name} (copy)"
    assert set(clone.variants.all()) == {w.apples, w.pears}
    assert clone.fees.get().name == "Packing"
    assert list(clone.schedules.all()) == [w.schedule]
    assert clone.pk in cycles_of(sub)


def test_delete_cycle_guards():
    """A cycle in a schedule, or with orders, cannot be deleted."""
    w = world()
    with pytest.raises(Conflict) as exc:
        scheduling.order_cycle_delete(order_cycle=w.upcoming)
    assert exc.value.detail == (
        "This order cycle is in a schedule; remove it from the schedule first."
    )
    sub = subscribe(w)
    place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    scheduling.schedule_update(schedule=w.schedule, changes={"order_cycle_ids": []}, now=w.now)
    with pytest.raises(Conflict):
        scheduling.order_cycle_delete(order_cycle=w.open)
    scheduling.order_cycle_delete(order_cycle=w.upcoming)
    assert not OrderCycle.objects.filter(pk=w.upcoming.pk).exists()


def test_schedule_create_and_update_only_own_cycles():
    """Only the shop's cycles; errors under order_cycle_ids."""
    w = world()
    foreign = factories.order_cycle(factories.shop("Elsewhere"))
    with pytest.raises(ValidationFailed) as exc:
        scheduling.schedule_create(shop=w.shop, name="Monthly", order_cycle_ids=[foreign.pk])
    assert exc.value.errors == {
        "order_cycle_ids": [f"Order cycle {foreign.pk} is not available to Green Grocer"]
    }
    schedule = scheduling.schedule_create(
        shop=w.shop, name="Monthly", order_cycle_ids=[w.upcoming.pk]
    )
    with pytest.raises(ValidationFailed):
        scheduling.schedule_update(
            schedule=schedule, changes={"order_cycle_ids": [foreign.pk]}, now=w.now
        )
    assert list(schedule.order_cycles.all()) == [w.upcoming]


def test_schedule_update_syncs_when_cycles_change():
    """Adding a cycle gives subscriptions a proxy order; removing one drops pending ones."""
    w = world()
    sub = subscribe(w)
    scheduling.schedule_update(
        schedule=w.schedule, changes={"order_cycle_ids": [w.open.pk]}, now=w.now
    )
    assert cycles_of(sub) == {w.open.pk}
    scheduling.schedule_update(
        schedule=w.schedule,
        changes={"order_cycle_ids": [w.open.pk, w.upcoming.pk], "name": "Weekly B"},
        now=w.now,
    )
    assert cycles_of(sub) == {w.open.pk, w.upcoming.pk}
    assert Schedule.objects.get(pk=w.schedule.pk).name == "Weekly B"


def test_schedule_delete_guard_and_soft_delete():
    """A schedule in use cannot be deleted; once only canceled subscriptions use it, it is
    deleted softly and lets go of its cycles; an unused one is deleted."""
    w = world()
    sub = subscribe(w)
    subscribe(w)
    with pytest.raises(Conflict) as exc:
        scheduling.schedule_delete(schedule=w.schedule, now=w.now)
    assert exc.value.detail == "This schedule is used by 2 subscriptions and cannot be deleted."
    for s in w.schedule.subscriptions.all():
        subscription_cancel(subscription=s, open_orders=None, now=w.now)
    scheduling.schedule_delete(schedule=w.schedule, now=w.now)
    schedule = Schedule.objects.get(pk=w.schedule.pk)
    assert schedule.deleted_at == w.now
    assert schedule.order_cycles.count() == 0
    assert sub.schedule_id == schedule.pk
    unused = factories.schedule(w.shop, [w.open])
    scheduling.schedule_delete(schedule=unused, now=w.now)
    assert not Schedule.objects.filter(pk=unused.pk).exists()


def test_update_keeps_a_deleted_variant_already_in_the_cycle():
    """A variant deleted after it joined the cycle never breaks an edit of the cycle."""
    w = world()
    w.pears.deleted_at = w.now
    w.pears.save()
    scheduling.order_cycle_update(
        order_cycle=w.upcoming,
        changes={"variant_ids": [w.apples.pk, w.pears.pk], "name": "Week 11"},
        now=w.now,
    )
    assert w.upcoming.variants.count() == 2
