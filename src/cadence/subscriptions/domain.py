"""Pure rules of subscriptions and proxy orders (no database).

Status derivation, which order cycles are in range of a subscription, what a proxy-order
sync must create and delete, and the arithmetic of estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cadence.cycles.domain import is_current
from cadence.money import ZERO
from cadence.orders.domain import FeeLine, compute_totals, fees_for
from cadence.orders.domain import Line as OrderLine


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
    wanted = {cid for cid in in_range_ids if is_current(closes_at=cycles[cid], now=now)}
    existing = list(existing)
    have = {p.order_cycle_id for p in existing}
    delete = {p.id for p in existing if p.deletable and p.order_cycle_id not in in_range_ids}
    return wanted - have, delete


@dataclass(frozen=True)
class Estimate:
    """What one delivery would cost: the item total and every fee line an order placed with
    these lines would get."""

    items: Decimal
    fee_lines: tuple[FeeLine, ...] = ()

    def _of_kind(self, kind: str) -> Decimal:
        return sum((f.amount for f in self.fee_lines if f.adjustment_kind == kind), ZERO)

    @property
    def shipping(self) -> Decimal:
        return self._of_kind("shipping")

    @property
    def payment(self) -> Decimal:
        return self._of_kind("payment")

    @property
    def fees(self) -> Decimal:
        return sum((f.amount for f in self.fee_lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.items + self.fees


def estimate(
    *,
    lines: Sequence[tuple[Decimal, int]],
    cycle_fees: Iterable[tuple[str, str, Decimal]] = (),
    shipping: tuple[str, Decimal] | None = None,
    payment: tuple[str, Decimal, Decimal] | None = None,
    currency: str = "EUR",
) -> Estimate:
    """The estimate of one delivery for (unit price, quantity) lines, computed exactly as
    placement computes an order: the cycle's fees (name, kind, amount) of every kind, the
    shipping method's fee (name, fee) and the payment method's fixed and percent fee
    (name, fee, percent). With unchanged prices and enough stock, its total is the placed
    order's total."""
    totals = compute_totals(
        [OrderLine(price, qty) for price, qty in lines],
        fees_for(cycle_fees=cycle_fees, shipping=shipping, payment=payment),
        currency,
    )
    return Estimate(totals.item_total, totals.fee_lines)


def jsonable(value: Any) -> Any:
    """A value as it is recorded in an audit event."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
