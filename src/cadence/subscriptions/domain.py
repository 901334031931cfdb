"""Pure rules of subscriptions and proxy orders (no database).

Status derivation, which order cycles are in range of a subscription, what a proxy-order
sync must create and delete, and the arithmetic of estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cadence.money import ZERO, round_money
from cadence.orders.domain import Line as OrderLine
from cadence.orders.domain import compute_totals, fees_for


class Status:
    ACTIVE = "active"
    PENDING = "pending"
    PAUSED = "paused"
    ENDED = "ended"
    CANCELED = "canceled"

    ALL = (ACTIVE, PENDING, PAUSED, ENDED, CANCELED)


OPEN_ORDERS_CHOICES = ("keep", "cancel")

# Proxy order states a sync may delete (nothing happened to them yet).
SYNC_DELETABLE_STATES = frozenset({"pending"})


def status_of(
    *,
    canceled_at: datetime | None,
    paused_at: datetime | None,
    begins_at: datetime | None,
    ends_at: datetime | None,
    now: datetime,
) -> str:
    """First match wins: canceled › paused › pending (not begun) › ended › active."""
    if canceled_at is not None:
        return Status.CANCELED
    if paused_at is not None:
        return Status.PAUSED
    if begins_at is None or begins_at > now:
        return Status.PENDING
    if ends_at is not None and ends_at < now:
        return Status.ENDED
    return Status.ACTIVE


def is_ended(*, ends_at: datetime | None, now: datetime) -> bool:
    return ends_at is not None and ends_at < now


def in_range(*, begins_at: datetime, ends_at: datetime | None, closes_at: datetime) -> bool:
    """A cycle is in range of a subscription when it closes within [begins_at, ends_at]:
    a start during an open cycle gets an order in it, an end within a cycle does not."""
    return begins_at <= closes_at and (ends_at is None or closes_at <= ends_at)


@dataclass(frozen=True)
class ExistingProxy:
    id: int
    order_cycle_id: int
    state: str
    has_order: bool

    @property
    def deletable(self) -> bool:
        return self.state in SYNC_DELETABLE_STATES and not self.has_order


def sync_plan(
    *,
    begins_at: datetime,
    ends_at: datetime | None,
    cycles: Mapping[int, datetime],
    existing: Iterable[ExistingProxy],
    now: datetime,
) -> tuple[set[int], set[int]]:
    """What a sync does for one subscription: (cycle ids to create a proxy order for, proxy
    order ids to delete).

    `cycles` maps the schedule's cycle ids to their `closes_at`. Created: every in-range cycle
    not closed yet without a proxy order. Deleted: proxy orders nothing happened to yet
    whose cycle left the schedule or is out of range; proxy orders that were placed,
    skipped, found empty or failed are kept whatever happens to dates and schedules.
    """
    in_range_ids = {
        cid
        for cid, closes_at in cycles.items()
        if in_range(begins_at=begins_at, ends_at=ends_at, closes_at=closes_at)
    }
    wanted = {cid for cid in in_range_ids if cycles[cid] > now}
    existing = list(existing)
    have = {p.order_cycle_id for p in existing}
    delete = {p.id for p in existing if p.deletable and p.order_cycle_id not in in_range_ids}
    return wanted - have, delete


def price_estimate(
    *, variant_price: Decimal, per_item_fees: Sequence[Decimal] = (), currency: str = "EUR"
) -> Decimal:
    """A line's estimated unit price: the variant's price plus the cycle's per-item fees."""
    return round_money(variant_price + sum(per_item_fees, ZERO), currency)


@dataclass(frozen=True)
class FeeEstimates:
    items: Decimal
    shipping: Decimal
    payment: Decimal

    @property
    def fees(self) -> Decimal:
        return self.shipping + self.payment

    @property
    def total(self) -> Decimal:
        return self.items + self.fees


def fee_estimates(
    *,
    lines: Sequence[tuple[Decimal, int]],
    shipping: tuple[str, Decimal],
    payment: tuple[str, Decimal, Decimal],
    currency: str = "EUR",
) -> FeeEstimates:
    """Item total and shipping/payment fee estimates for (unit price, quantity) lines."""
    totals = compute_totals(
        [OrderLine(price, qty) for price, qty in lines],
        fees_for(shipping=shipping, payment=payment),
        currency,
    )
    shipping_fee = sum(
        (f.amount for f in totals.fee_lines if f.adjustment_kind == "shipping"), ZERO
    )
    payment_fee = sum((f.amount for f in totals.fee_lines if f.adjustment_kind == "payment"), ZERO)
    return FeeEstimates(totals.item_total, shipping_fee, payment_fee)


def jsonable(value):
    """A value as it is recorded in an audit event."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
