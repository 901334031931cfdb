"""Pure order arithmetic: line totals and fees, shared by estimates and real orders.

Fees are computed on quantities *after* stock capping (a capped line pays fees on what is
delivered). Every amount is rounded to the currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from cadence.money import ZERO, round_money


@dataclass(frozen=True)
class Line:
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class Fee:
    """A fee to apply: `kind` is per_order, per_item or percent (of the item total)."""

    label: str
    kind: str
    amount: Decimal
    adjustment_kind: str = "order_cycle"


@dataclass(frozen=True)
class FeeLine:
    label: str
    adjustment_kind: str
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    item_total: Decimal
    fee_lines: tuple[FeeLine, ...]

    @property
    def fee_total(self) -> Decimal:
        return sum((f.amount for f in self.fee_lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.item_total + self.fee_total


def item_total(lines: Iterable[Line], currency: str = "EUR") -> Decimal:
    return round_money(sum((ln.unit_price * ln.quantity for ln in lines), ZERO), currency)


def fee_amount(fee: Fee, *, items: Decimal, item_count: int, currency: str = "EUR") -> Decimal:
    if fee.kind == "per_order":
        amount = fee.amount
    elif fee.kind == "per_item":
        amount = fee.amount * item_count
    elif fee.kind == "percent":
        amount = items * fee.amount / Decimal(100)
    else:
        raise ValueError(f"unknown fee kind {fee.kind!r}")
    return round_money(amount, currency)


def compute_totals(lines: Sequence[Line], fees: Sequence[Fee], currency: str = "EUR") -> Totals:
    """Item total and fee lines. An order with nothing delivered pays no fees."""
    items = item_total(lines, currency)
    count = sum(ln.quantity for ln in lines)
    if count == 0:
        return Totals(items, ())
    fee_lines = tuple(
        FeeLine(
            f.label,
            f.adjustment_kind,
            fee_amount(f, items=items, item_count=count, currency=currency),
        )
        for f in fees
    )
    return Totals(items, tuple(fl for fl in fee_lines if fl.amount != ZERO))


def fees_for(
    *,
    cycle_fees: Iterable[tuple[str, str, Decimal]] = (),
    shipping: tuple[str, Decimal] | None = None,
    payment: tuple[str, Decimal, Decimal] | None = None,
) -> list[Fee]:
    """The fees an order pays: the cycle's fees (name, kind, amount), the shipping method's
    fixed fee (name, fee) and the payment method's fixed fee plus a percentage of the item
    total (name, fee, percent)."""
    fees = [Fee(name, kind, amount) for name, kind, amount in cycle_fees]
    if shipping is not None and shipping[1]:
        fees.append(Fee(shipping[0], "per_order", shipping[1], "shipping"))
    if payment is not None:
        name, fixed, percent = payment
        if fixed:
            fees.append(Fee(name, "per_order", fixed, "payment"))
        if percent:
            fees.append(Fee(name, "percent", percent, "payment"))
    return fees
