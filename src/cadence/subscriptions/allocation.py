"""Who gets what when demand for a variant exceeds its stock (pure arithmetic, no ORM).

Claims are ranked oldest first (the subscription's creation time, then its id), so the
result is deterministic and does not depend on the order in which proxy orders are read or
on how a cycle is cut into chunks.

- ``first_come``: the oldest claims are served in full, the next one gets what is left.
- ``fair_share``: everyone gets the same fraction of what they asked for, rounded down;
  the units left over by the rounding go one by one to the oldest claims that are still
  short.

`allocate` divides a list of claims held in memory (a chunk's). `Share` is the same division
for a whole cycle in constant space: under either policy the result is fixed by the stock,
the total demand and one rank (the cut-off), so it is built by streaming the claims in rank
order and then answers for any single claim, whatever the number of subscriptions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
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


@dataclass(frozen=True)
class Share:
    """How one variant's stock is divided over all of a cycle's claims, in constant space.

    - first_come: claims ranked before `cutoff` get all they asked, the claim at `cutoff`
      gets `partial`, later ones nothing;
    - fair_share: each gets floor(quantity * stock / demand), plus one unit for the claims
      still short ranked at or before `cutoff` (None: no unit left over).
    """

    policy: str
    stock: int
    demand: int
    cutoff: tuple | None = None
    partial: int = 0

    def given(self, *, quantity: int, rank: tuple) -> int:
        """What a claim of `quantity` ranked `rank` gets (same as `allocate` would give)."""
        quantity = max(quantity, 0)
        if self.policy == FAIR_SHARE:
            base = quantity * self.stock // self.demand
            if base < quantity and self.cutoff is not None and rank <= self.cutoff:
                return base + 1
            return base
        if self.cutoff is None or rank < self.cutoff:
            return quantity
        return min(self.partial, quantity) if rank == self.cutoff else 0

    @classmethod
    def build(
        cls,
        *,
        claims: Callable[[], Iterable[tuple[tuple, int]]],
        stock: int,
        policy: str,
        demand: int | None = None,
    ) -> Share | None:
        """The share of `stock` over `claims`: a callable returning (rank, quantity) pairs
        sorted by rank, oldest first, called at most three times (fewer when `demand`, the
        total asked, is given) and never held in memory. None when the stock covers the
        demand (nobody is capped)."""
        if policy not in (FIRST_COME, FAIR_SHARE):
            raise ValueError(f"unknown allocation policy {policy!r}")
        stock = max(stock, 0)
        if policy == FIRST_COME:
            served, total, cutoff, partial = 0, 0, None, 0
            for rank, quantity in claims():
                quantity = max(quantity, 0)
                total += quantity
                if cutoff is None and served + quantity > stock:
                    cutoff, partial = rank, stock - served
                served = min(served + quantity, stock)
            if cutoff is None:
                return None
            return cls(policy=policy, stock=stock, demand=total, cutoff=cutoff, partial=partial)
        if demand is None:
            demand = sum(max(q, 0) for _r, q in claims())
        if demand <= stock:
            return None
        # The rounding remainder is less than the number of claims with a fractional share,
        # so one pass, oldest first, hands it out (as `allocate` does).
        left = stock - sum(max(q, 0) * stock // demand for _r, q in claims())
        cutoff = None
        if left > 0:
            for rank, quantity in claims():
                quantity = max(quantity, 0)
                if quantity * stock // demand < quantity:
                    cutoff = rank
                    left -= 1
                    if left == 0:
                        break
        return cls(policy=policy, stock=stock, demand=demand, cutoff=cutoff)
