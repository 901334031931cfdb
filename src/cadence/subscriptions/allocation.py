"""Who gets what when demand for a variant exceeds its stock (pure arithmetic, no ORM).

Claims are ranked oldest first (the subscription's creation time, then its id), so the
result is deterministic and does not depend on the order in which proxy orders are read or
on how a cycle is cut into chunks.

- ``first_come``: the oldest claims are served in full, the next one gets what is left.
- ``fair_share``: everyone gets the same fraction of what they asked for, rounded down;
  the units left over by the rounding go one by one to the oldest claims that are still
  short.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

FIRST_COME = "first_come"
FAIR_SHARE = "fair_share"


@dataclass(frozen=True)
class Claim:
    key: Hashable  # what the caller needs back (a proxy order id)
    rank: tuple  # sort key: older first
    quantity: int


def allocate(*, claims: Sequence[Claim], stock: int | None, policy: str) -> dict[Hashable, int]:
    """How many units each claim gets out of `stock` (None means unlimited).

    Never gives a claim more than it asked for, never gives out more than `stock` in total.
    """
    wanted = {c.key: max(c.quantity, 0) for c in claims}
    total = sum(wanted.values())
    if stock is None or total <= stock:
        return wanted
    stock = max(stock, 0)
    ordered = sorted(claims, key=lambda c: c.rank)
    given: dict[Hashable, int] = {c.key: 0 for c in claims}
    if policy == FAIR_SHARE:
        # Integer arithmetic: floor(q * stock / total) is exact, no float rounding.
        for c in ordered:
            given[c.key] = wanted[c.key] * stock // total
    elif policy != FIRST_COME:
        raise ValueError(f"unknown allocation policy {policy!r}")
    left = stock - sum(given.values())
    if policy == FAIR_SHARE:
        # The rounding remainder is less than the number of claims: one unit each, oldest first.
        while left > 0:
            progressed = False
            for c in ordered:
                if left == 0:
                    break
                if given[c.key] < wanted[c.key]:
                    given[c.key] += 1
                    left -= 1
                    progressed = True
            if not progressed:
                break
    else:
        for c in ordered:
            take = min(wanted[c.key], left)
            given[c.key] = take
            left -= take
            if left == 0:
                break
    return given
