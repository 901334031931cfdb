"""What placement decides for a chunk of proxy orders: who gets how many of each variant,
why a line gets less than it asked for, and each order's totals (pure: plain values in,
plain values out, no database).

Placement is plan → reserve → write → notify: the service loads the chunk and locks its
variants, `plan` decides, then the service reserves the units `plan` counted, writes the
orders and queues the emails. Keeping every decision here means the rules of the domain
(*Placement*: not offered gives 0, stock caps, the allocation policy) are tested in
milliseconds against a plain reimplementation, and the service only moves rows.

The rules, in the order they apply to a line:
1. A variant the cycle does not sell (or a deleted one) gives 0.
2. A proxy order counted in the cycle's allocation takes at most its stored share of a
   variant in shortage (`Share`, decided once for the whole cycle).
3. The others (late-comers, explicit requests) are served first come, oldest subscription
   first, from the stock not held for anyone else: what is there, less what the chunk's
   allocated proxy orders take and what the allocated ones still pending elsewhere hold.
4. Whatever was decided above, the chunk takes no more than the stock there now (it may
   have moved since the allocation was stored), divided by the shop's policy.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cadence.orders.domain import Fee, Line, Totals, compute_totals
from cadence.subscriptions.allocation import FAIR_SHARE, Claim, Share, allocate

_ZERO = Decimal("0")


class Reason:
    """Why a line gets less than it asked for: the first rule that cut it."""

    NOT_OFFERED = "not_offered"  # the cycle does not sell the variant, or it was deleted
    STOCK = "stock"  # not enough stock: older subscriptions served first, or the stock there is
    FAIR_SHARE = "fair_share"  # its proportional share of scarce stock (fair_share policy)


@dataclass(frozen=True, slots=True)
class Offer:
    """A variant as a chunk finds it (its row locked by the caller): current price and stock."""

    price: Decimal
    on_hand: int
    on_demand: bool = False  # unlimited: never capped, keeps no stock count
    offered: bool = True  # sold in this cycle and not deleted (nor its product)


@dataclass(frozen=True, slots=True)
class Request:
    """One proxy order to place: its subscription's rank and lines, and the fees its order
    would pay (the cycle's, its shipping and payment methods')."""

    proxy_order_id: int
    subscription_id: int
    subscription_created_at: datetime
    lines: tuple[tuple[int, int], ...]  # (variant id, quantity asked), in the subscription's order
    # Counted in the cycle's allocation (takes its stored share); False: served first come.
    allocated: bool = True
    fees: tuple[Fee, ...] = ()

    @property
    def rank(self) -> tuple[datetime, int]:
        """Older first: the subscription's creation time, then its id."""
        return (self.subscription_created_at, self.subscription_id)


@dataclass(frozen=True, slots=True)
class PlannedLine:
    variant_id: int
    asked: int
    quantity: int
    price: Decimal  # the variant's current price
    reason: str | None = None  # a `Reason` when quantity < asked


@dataclass(frozen=True, slots=True)
class ProxyOrderPlan:
    """What one proxy order gets: its lines, and the order's totals (None: nothing is given,
    no order is written and the proxy order is empty)."""

    proxy_order_id: int
    lines: tuple[PlannedLine, ...]
    totals: Totals | None

    @property
    def empty(self) -> bool:
        return self.totals is None

    @property
    def short(self) -> bool:
        """Placed with less than asked on some line."""
        return any(line.quantity < line.asked for line in self.lines)


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    proxy_orders: tuple[ProxyOrderPlan, ...]  # in the order of the requests
    reserve: Mapping[int, int]  # per variant with a stock count, the units the chunk takes

    @property
    def placed(self) -> list[ProxyOrderPlan]:
        return [p for p in self.proxy_orders if p.totals is not None]

    @property
    def empty(self) -> list[ProxyOrderPlan]:
        return [p for p in self.proxy_orders if p.totals is None]


def _sellable(offer: Offer | None) -> bool:
    return offer is not None and offer.offered


def first_come_variants(*, requests: Iterable[Request], offers: Mapping[int, Offer]) -> set[int]:
    """The variants with a stock count that the chunk's first-come requests ask for: the
    caller reads, for these only, what is held for allocated proxy orders outside the chunk
    (the `held_elsewhere` of `plan`)."""
    variants = set()
    for request in requests:
        if request.allocated:
            continue
        for variant_id, asked in request.lines:
            offer = offers.get(variant_id)
            if asked > 0 and offer is not None and offer.offered and not offer.on_demand:
                variants.add(variant_id)
    return variants


def plan_shares(
    *, requests: Sequence[Request], offers: Mapping[int, Offer], policy: str
) -> dict[int, Share]:
    """The cycle's allocation when `requests` are every proxy order eligible in it (a cycle
    placed in one chunk): for each variant it sells with a stock count whose demand exceeds
    its stock, how the stock is divided (`Share`), oldest subscription first. The division
    the cycle's allocation service reads from the database for a cycle of any size."""
    ranked = sorted(requests, key=lambda request: request.rank)
    demand: dict[int, int] = {}
    for request in ranked:
        for variant_id, asked in request.lines:
            if asked > 0:
                demand[variant_id] = demand.get(variant_id, 0) + asked
    shares: dict[int, Share] = {}
    for variant_id in sorted(demand):
        offer = offers.get(variant_id)
        if offer is None or not offer.offered or offer.on_demand:
            continue
        if demand[variant_id] <= offer.on_hand:
            continue
        claims: list[tuple[tuple, int]] = [
            (request.rank, asked)
            for request in ranked
            for line_variant, asked in request.lines
            if line_variant == variant_id and asked > 0
        ]
        share = Share.build(
            claims=functools.partial(iter, claims),
            stock=offer.on_hand,
            policy=policy,
            demand=demand[variant_id],
        )
        if share is not None:
            shares[variant_id] = share
    return shares


def plan(
    *,
    requests: Sequence[Request],
    offers: Mapping[int, Offer],
    shares: Mapping[int, Share],
    held_elsewhere: Mapping[int, int],
    policy: str,
    currency: str,
) -> ChunkPlan:
    """What each of `requests` gets, and what the chunk reserves (see the module docstring
    for the rules). `offers` has every variant the requests ask for (a missing one counts as
    not offered); `shares` is the cycle's stored allocation; `held_elsewhere` is, per
    variant of `first_come_variants`, the units held for allocated proxy orders not in the
    chunk.

    Never gives a line more than it asked, never reserves more than a variant's `on_hand`.
    """
    # 1-2. What each line may take: nothing if not sold, its share if allocated.
    wants: list[list[int]] = []
    reasons: list[list[str | None]] = []
    for request in requests:
        line_wants, line_reasons = [], []
        for variant_id, asked in request.lines:
            offer = offers.get(variant_id)
            want, reason = (asked, None) if _sellable(offer) else (0, Reason.NOT_OFFERED)
            share = shares.get(variant_id) if request.allocated else None
            if want and share is not None:
                capped = min(want, share.given(quantity=asked, rank=request.rank))
                if capped < want:
                    reason = Reason.FAIR_SHARE if share.policy == FAIR_SHARE else Reason.STOCK
                    want = capped
            line_wants.append(want)
            line_reasons.append(reason if want < asked else None)
        wants.append(line_wants)
        reasons.append(line_reasons)

    # 3. First come, from the stock nobody else's share holds.
    late = [i for i, request in enumerate(requests) if not request.allocated]
    free = {
        variant_id: offers[variant_id].on_hand
        for variant_id in first_come_variants(requests=[requests[i] for i in late], offers=offers)
    }
    if free:
        for request, line_wants in zip(requests, wants, strict=True):
            if request.allocated:
                for (variant_id, _asked), want in zip(request.lines, line_wants, strict=True):
                    if variant_id in free:
                        free[variant_id] -= want
        for variant_id, units in held_elsewhere.items():
            if variant_id in free:
                free[variant_id] -= units
        for i in sorted(late, key=lambda i: requests[i].rank):
            for j, (variant_id, _asked) in enumerate(requests[i].lines):
                if variant_id in free:
                    want = min(wants[i][j], max(free[variant_id], 0))
                    if want < wants[i][j]:
                        wants[i][j] = want
                        reasons[i][j] = reasons[i][j] or Reason.STOCK
                    free[variant_id] -= want

    # 4. The stock there now, divided by the shop's policy.
    claims: dict[int, list[Claim]] = {}
    for i, request in enumerate(requests):
        rank = request.rank
        for (variant_id, _asked), want in zip(request.lines, wants[i], strict=True):
            claims.setdefault(variant_id, []).append(Claim(i, rank, want))
    given: dict[tuple[Hashable, int], int] = {}  # (request index, variant id) -> units
    reserve: dict[int, int] = {}
    for variant_id, variant_claims in claims.items():
        offer = offers.get(variant_id)
        stock = offer.on_hand if offer is not None and not offer.on_demand else None
        split = allocate(claims=variant_claims, stock=stock, policy=policy)
        for claimant, quantity in split.items():
            given[(claimant, variant_id)] = quantity
        if stock is not None and (total := sum(split.values())):
            reserve[variant_id] = total

    # The lines as given, and the totals (fees on what is delivered).
    plans = []
    for i, request in enumerate(requests):
        lines = []
        for j, (variant_id, asked) in enumerate(request.lines):
            quantity = given[(i, variant_id)]
            offer = offers.get(variant_id)
            reason = reasons[i][j] or (Reason.STOCK if quantity < asked else None)
            lines.append(
                PlannedLine(variant_id, asked, quantity, offer.price if offer else _ZERO, reason)
            )
        totals = None
        if any(line.quantity for line in lines):
            totals = compute_totals(
                [Line(line.price, line.quantity) for line in lines], request.fees, currency
            )
        plans.append(ProxyOrderPlan(request.proxy_order_id, tuple(lines), totals))
    return ChunkPlan(tuple(plans), reserve)
