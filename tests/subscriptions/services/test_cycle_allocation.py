"""The cycle's allocation: stored as JSON and read back the same, and stored only when
something is eligible."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cadence.catalog.models import Variant
from cadence.subscriptions.allocation import FAIR_SHARE, FIRST_COME, Share
from cadence.subscriptions.models import CycleAllocation
from cadence.subscriptions.services.cycle_allocation import (
    cycle_allocation,
    shares_from_json,
    shares_to_json,
)
from cadence.subscriptions.services.placement import place_cycle, place_proxy_orders
from tests.support.worlds import scarce_world


@given(
    quantities=st.lists(st.integers(min_value=1, max_value=9), min_size=2, max_size=30),
    stock=st.integers(min_value=0, max_value=60),
    policy=st.sampled_from([FIRST_COME, FAIR_SHARE]),
)
def test_a_stored_allocation_reads_back_as_the_one_computed(quantities, stock, policy):
    """The cycle's allocation goes through JSON into the database and back (ranks are
    subscription creation times in UTC, to the microsecond, and ids): every claim gets
    from the stored share exactly what the computed one gives."""
    start = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)
    ranked = [((start + timedelta(microseconds=i), 100 + i), q) for i, q in enumerate(quantities)]
    share = Share.build(claims=lambda: iter(ranked), stock=stock, policy=policy)
    if share is None:
        return
    stored = shares_from_json(json.loads(json.dumps(shares_to_json({7: share}))))
    assert stored == {7: share}
    assert [stored[7].given(quantity=q, rank=r) for r, q in ranked] == [
        share.given(quantity=q, rank=r) for r, q in ranked
    ]


@pytest.mark.django_db
def test_a_cycle_with_nothing_eligible_stores_no_allocation(world):
    """Nothing to divide, nothing stored: the allocation is made when there is something to
    place, so a shop enabling subscriptions mid-cycle still gets its policy applied."""
    world.shop.enable_subscriptions = False
    world.shop.save()
    proxy = world.subscribe()

    place_cycle(order_cycle=world.cycle)
    assert cycle_allocation(order_cycle=world.cycle, now=timezone.now()) is None
    assert place_proxy_orders(proxy_order_ids=[proxy.pk]).skipped == 1

    assert not CycleAllocation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["not sold", "deleted", "on demand"])
def test_only_scarce_variants_the_cycle_sells_are_divided(change):
    """Both variants are asked for beyond their stock; the second one is no longer sold in
    the cycle, or deleted, or made unlimited: only the first gets a share."""
    world, _proxies = scarce_world(FIRST_COME)
    second = world.variants[1]
    if change == "not sold":
        world.cycle.variants.remove(second)
    elif change == "deleted":
        Variant.objects.filter(pk=second.pk).update(deleted_at=timezone.now())
    else:
        Variant.objects.filter(pk=second.pk).update(on_demand=True)

    allocation = cycle_allocation(order_cycle=world.cycle, now=timezone.now())

    assert set(allocation.shares) == {str(world.variants[0].pk)}
