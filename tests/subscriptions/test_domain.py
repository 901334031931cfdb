"""Pure rules of subscriptions: status, range of cycles, sync plan, estimates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cadence.subscriptions.domain import (
    ExistingProxy,
    estimate,
    in_range,
    status_of,
    sync_plan,
)

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def status(**kw):
    base = dict(canceled_at=None, paused_at=None, begins_at=T - DAY, ends_at=None, now=T)
    base.update(kw)
    return status_of(**base)


def test_status_precedence():
    """canceled beats paused beats pending beats ended beats active."""
    assert status() == "active"
    assert status(ends_at=T + DAY) == "active"
    assert status(ends_at=T - timedelta(seconds=1)) == "ended"
    assert status(begins_at=T + DAY) == "pending"
    assert status(begins_at=T + DAY, ends_at=T - DAY) == "pending"
    assert status(paused_at=T, begins_at=T + DAY) == "paused"
    assert status(canceled_at=T, paused_at=T) == "canceled"


def test_status_boundaries():
    """A subscription beginning now is active; one ending exactly now is not ended yet."""
    assert status(begins_at=T) == "active"
    assert status(ends_at=T) == "active"


def test_in_range_is_inclusive_at_both_ends():
    """A cycle is in range when it closes within [begins_at, ends_at]."""
    assert in_range(begins_at=T, ends_at=None, closes_at=T) is True
    assert in_range(begins_at=T, ends_at=T + DAY, closes_at=T + DAY) is True
    assert in_range(begins_at=T, ends_at=T + DAY, closes_at=T + 2 * DAY) is False
    assert in_range(begins_at=T, ends_at=None, closes_at=T - timedelta(seconds=1)) is False
    assert in_range(begins_at=T, ends_at=None, closes_at=T + 1000 * DAY) is True


def test_sync_plan_creates_for_in_range_not_closed_cycles_only():
    """Closed cycles get no new proxy order; open and upcoming in-range ones do."""
    cycles = {1: T - DAY, 2: T + DAY, 3: T + 8 * DAY, 4: T + 15 * DAY}
    create, delete = sync_plan(
        begins_at=T - 10 * DAY, ends_at=T + 10 * DAY, cycles=cycles, existing=[], now=T
    )
    assert create == {2, 3}
    assert delete == set()


def test_sync_plan_deletes_only_pending_out_of_range_or_removed():
    """Pending ones out of range or out of the schedule go; placed, skipped, empty stay."""
    cycles = {1: T + DAY, 2: T + 8 * DAY}
    existing = [
        ExistingProxy(10, 1, "pending", False),
        ExistingProxy(11, 2, "pending", False),  # out of range (ends before)
        ExistingProxy(12, 99, "pending", False),  # cycle left the schedule
        ExistingProxy(13, 98, "placed", True),
        ExistingProxy(14, 97, "canceled", False),
        ExistingProxy(15, 96, "empty", False),
    ]
    create, delete = sync_plan(
        begins_at=T - DAY, ends_at=T + 2 * DAY, cycles=cycles, existing=existing, now=T
    )
    assert create == set()
    assert delete == {11, 12}


def test_sync_plan_keeps_pending_of_closed_in_range_cycle():
    """A proxy order of an in-range cycle that closed is history, not removed."""
    create, delete = sync_plan(
        begins_at=T - 10 * DAY,
        ends_at=None,
        cycles={1: T - DAY},
        existing=[ExistingProxy(10, 1, "pending", False)],
        now=T,
    )
    assert (create, delete) == (set(), set())


def test_estimate_counts_every_kind_of_fee_like_an_order():
    """Items 2×12.00 + 1×3.00 = 27.00; cycle fees per order 2.00, per item 1.75 × 3 = 5.25,
    percent 10% = 2.70; shipping 3.00; payment 0.50 + 2% = 0.54+0.50: every fee counts."""
    est = estimate(
        lines=[(Decimal("12.00"), 2), (Decimal("3.00"), 1)],
        cycle_fees=[
            ("Packing", "per_order", Decimal("2.00")),
            ("Handling", "per_item", Decimal("1.75")),
            ("Market", "percent", Decimal("10")),
        ],
        shipping=("Delivery", Decimal("3.00")),
        payment=("Card", Decimal("0.50"), Decimal("2")),
    )
    assert est.items == Decimal("27.00")
    assert (est.shipping, est.payment) == (Decimal("3.00"), Decimal("1.04"))
    assert est.fees == Decimal("2.00") + Decimal("5.25") + Decimal("2.70") + Decimal("4.04")
    assert est.total == Decimal("27.00") + est.fees


def test_estimate_like_the_reference():
    """Items 4+5+6: flat shipping 12.34 and 10% payment give 12.34 and 1.50."""
    est = estimate(
        lines=[(Decimal("4"), 1), (Decimal("5"), 1), (Decimal("6"), 1)],
        shipping=("Delivery", Decimal("12.34")),
        payment=("Card", Decimal("0"), Decimal("10")),
    )
    assert (est.items, est.shipping, est.payment) == (
        Decimal("15.00"),
        Decimal("12.34"),
        Decimal("1.50"),
    )
    assert est.total == Decimal("28.84")


def test_estimate_without_items_is_zero():
    """Nothing to deliver pays no fees."""
    est = estimate(
        lines=[], shipping=("D", Decimal("3")), payment=("C", Decimal("1"), Decimal("0"))
    )
    assert est.total == Decimal("0")
