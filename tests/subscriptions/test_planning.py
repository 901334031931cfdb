"""What placement decides for a chunk (pure, no database): checked against a plain
reimplementation of the rules of the domain (*Placement*), and by properties that hold
whatever the cycle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cadence.orders.domain import Fee
from cadence.subscriptions.allocation import FAIR_SHARE, FIRST_COME, Share
from cadence.subscriptions.planning import (
    ChunkPlan,
    Offer,
    Reason,
    Request,
    first_come_variants,
    plan,
    plan_shares,
)

T = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)
PACKING = Fee("Packing", "per_order", Decimal("1.00"))
BAG = Fee("Bag", "per_item", Decimal("0.10"))


# --- the oracle: the rules as the domain states them, written the plain way ---------------


def oracle_split(asks: list[int], stock: int, policy: str) -> list[int]:
    """Units of a scarce variant for claims listed oldest first. first_come: the oldest in
    full, then the next, until the stock is gone. fair_share: each its proportion rounded
    down, then the units left over one by one to the oldest still short."""
    if sum(asks) <= stock:
        return list(asks)
    if policy == FIRST_COME:
        out, left = [], stock
        for ask in asks:
            out.append(min(ask, left))
            left -= out[-1]
        return out
    demand = sum(asks)
    out = [ask * stock // demand for ask in asks]
    left = stock - sum(out)
    while left > 0:
        for i, ask in enumerate(asks):
            if left > 0 and out[i] < ask:
                out[i] += 1
                left -= 1
    return out


def oracle(
    requests: list[Request], offers: dict[int, Offer], *, policy: str, held: dict | None = None
) -> dict[tuple[int, int], int]:
    """(proxy order, variant) -> units, for requests all decided together: a variant not
    offered gives 0, an on-demand one what is asked, a counted one its split of the stock
    (less what is held for others) by rank."""
    held = held or {}
    oldest_first = sorted(requests, key=lambda r: (r.subscription_created_at, r.subscription_id))
    out = {}
    for variant_id, offer in offers.items():
        claims = [
            (r.proxy_order_id, q) for r in oldest_first for v, q in r.lines if v == variant_id
        ]
        if not offer.offered:
            split = [0] * len(claims)
        elif offer.on_demand:
            split = [q for _p, q in claims]
        else:
            stock = max(offer.on_hand - held.get(variant_id, 0), 0)
            split = oracle_split([q for _p, q in claims], stock, policy)
        for (proxy_id, _q), units in zip(claims, split, strict=True):
            out[(proxy_id, variant_id)] = units
    return out


# --- data ---------------------------------------------------------------------------------


@dataclass
class Cycle:
    offers: dict[int, Offer]
    requests: list[Request]


@st.composite
def cycles(draw, *, allocated=True, max_requests=14) -> Cycle:
    n_variants = draw(st.integers(1, 4))
    offers = {
        100 + i: Offer(
            price=draw(st.sampled_from([Decimal("0.50"), Decimal("2.00"), Decimal("4.35")])),
            on_hand=draw(st.integers(0, 30)),
            on_demand=draw(st.integers(0, 5)) == 0,
            offered=draw(st.integers(0, 5)) != 0,
        )
        for i in range(n_variants)
    }
    n = draw(st.integers(1, max_requests))
    # Few distinct creation times, so ranks often tie on the time and the id decides.
    times = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    subscription_ids = draw(st.permutations(range(1, n + 1)))
    requests = []
    for i in range(n):
        variant_ids = draw(
            st.lists(st.sampled_from(sorted(offers)), min_size=1, max_size=n_variants, unique=True)
        )
        requests.append(
            Request(
                proxy_order_id=1000 + i,
                subscription_id=subscription_ids[i],
                subscription_created_at=T + timedelta(days=times[i]),
                lines=tuple((v, draw(st.integers(1, 9))) for v in variant_ids),
                allocated=allocated if allocated is not None else draw(st.booleans()),
                fees=draw(st.sampled_from([(), (PACKING,), (PACKING, BAG)])),
            )
        )
    return Cycle(offers, requests)


def stored_shares(cycle: Cycle, policy: str) -> dict[int, Share]:
    """The cycle's allocation as placement stores it: over every request, from the full
    stock of each offered variant with a stock count."""
    shares = {}
    oldest_first = sorted(cycle.requests, key=lambda r: r.rank)
    for variant_id, offer in cycle.offers.items():
        if offer.on_demand or not offer.offered:
            continue
        claims = [(r.rank, q) for r in oldest_first for v, q in r.lines if v == variant_id]
        share = Share.build(claims=lambda c=claims: iter(c), stock=offer.on_hand, policy=policy)
        if share is not None:
            shares[variant_id] = share
    return shares


def given_units(decided: ChunkPlan) -> dict[tuple[int, int], int]:
    return {
        (p.proxy_order_id, line.variant_id): line.quantity
        for p in decided.proxy_orders
        for line in p.lines
    }


def run(cycle: Cycle, *, policy, shares=None, held=None, offers=None) -> ChunkPlan:
    return plan(
        requests=cycle.requests,
        offers=offers or cycle.offers,
        shares=shares or {},
        held_elsewhere=held or {},
        policy=policy,
        currency="EUR",
    )


policies = st.sampled_from([FIRST_COME, FAIR_SHARE])


# --- against the oracle -------------------------------------------------------------------


@given(cycle=cycles(), policy=policies)
def test_a_whole_cycle_gets_what_the_rules_give(cycle, policy):
    """Every proxy order of a cycle counted in its stored allocation and placed in one
    chunk gets exactly what the rules give (not offered 0, on demand all, scarce stock
    divided by the policy, oldest first)."""
    decided = run(cycle, policy=policy, shares=stored_shares(cycle, policy))
    assert given_units(decided) == oracle(cycle.requests, cycle.offers, policy=policy)


@given(cycle=cycles(), policy=policies)
def test_a_cycle_in_one_chunk_computes_the_allocation_it_stores(cycle, policy):
    """A cycle placed in one chunk computes its allocation from the chunk's own requests
    (`plan_shares`): the shares stored for every offered variant with a stock count in
    shortage, and with them every proxy order gets what the rules give."""
    shares = plan_shares(requests=cycle.requests, offers=cycle.offers, policy=policy)
    assert shares == stored_shares(cycle, policy)
    decided = run(cycle, policy=policy, shares=shares)
    assert given_units(decided) == oracle(cycle.requests, cycle.offers, policy=policy)


@given(cycle=cycles(), policy=policies, size=st.integers(1, 5), seed=st.integers(0, 99))
def test_how_the_cycle_is_cut_into_chunks_changes_nothing(cycle, policy, size, seed):
    """Chunks of any size, in any order, each planned with the stock the earlier ones
    left and the same stored allocation, give everyone what one chunk would give."""
    shares = stored_shares(cycle, policy)
    requests = list(cycle.requests)
    random.Random(seed).shuffle(requests)
    on_hand = {v: o.on_hand for v, o in cycle.offers.items()}
    got = {}
    for start in range(0, len(requests), size):
        offers = {
            v: Offer(o.price, on_hand[v], o.on_demand, o.offered) for v, o in cycle.offers.items()
        }
        decided = run(
            Cycle(offers, requests[start : start + size]),
            policy=policy,
            shares=shares,
        )
        for variant_id, units in decided.reserve.items():
            on_hand[variant_id] -= units
        got.update(given_units(decided))
    assert got == oracle(cycle.requests, cycle.offers, policy=policy)
    assert all(units >= 0 for units in on_hand.values())


@given(
    cycle=cycles(allocated=False),
    policy=policies,
    held=st.dictionaries(st.integers(100, 103), st.integers(0, 12)),
)
def test_late_comers_are_served_first_come_from_what_others_do_not_hold(cycle, policy, held):
    """Proxy orders not counted in the allocation are served oldest first, whatever the
    shop's policy, from the stock less what is held for the allocated ones elsewhere."""
    wanted = first_come_variants(requests=cycle.requests, offers=cycle.offers)
    held = {v: units for v, units in held.items() if v in wanted}
    decided = run(cycle, policy=policy, held=held)
    assert given_units(decided) == oracle(
        cycle.requests, cycle.offers, policy=FIRST_COME, held=held
    )


# --- properties, whatever the inputs ------------------------------------------------------


@given(
    cycle=cycles(allocated=None),
    policy=policies,
    stored_from=st.integers(-10, 10),
    held=st.dictionaries(st.integers(100, 103), st.integers(0, 12)),
)
def test_never_more_than_asked_nor_than_the_stock_and_every_difference_has_a_reason(
    cycle, policy, stored_from, held
):
    """Allocated and late proxy orders mixed, with an allocation stored when the stock was
    different: no line gets more than it asked, the chunk reserves no more than a variant
    has and exactly what it gives, a variant not offered gives 0, an on-demand one all,
    and a line given less than asked says why."""
    then = Cycle(
        {
            v: Offer(o.price, max(o.on_hand + stored_from, 0), o.on_demand, o.offered)
            for v, o in cycle.offers.items()
        },
        cycle.requests,
    )
    decided = run(cycle, policy=policy, shares=stored_shares(then, policy), held=held)

    given_per_variant: dict[int, int] = {}
    for planned, request in zip(decided.proxy_orders, cycle.requests, strict=True):
        assert planned.proxy_order_id == request.proxy_order_id
        assert [(line.variant_id, line.asked) for line in planned.lines] == list(request.lines)
        for line in planned.lines:
            offer = cycle.offers[line.variant_id]
            assert 0 <= line.quantity <= line.asked
            assert line.price == offer.price
            assert (line.reason is None) == (line.quantity == line.asked)
            if not offer.offered:
                assert (line.quantity, line.reason) == (0, Reason.NOT_OFFERED)
            elif offer.on_demand:
                assert line.quantity == line.asked
            else:
                assert line.reason in (None, Reason.STOCK, Reason.FAIR_SHARE)
            given_per_variant[line.variant_id] = (
                given_per_variant.get(line.variant_id, 0) + line.quantity
            )
    for variant_id, offer in cycle.offers.items():
        if offer.on_demand:
            assert variant_id not in decided.reserve
        else:
            assert decided.reserve.get(variant_id, 0) == given_per_variant.get(variant_id, 0)
            assert decided.reserve.get(variant_id, 0) <= offer.on_hand


@given(cycle=cycles(), policy=policies)
def test_totals_are_on_what_is_given_and_nothing_given_means_no_order(cycle, policy):
    """An order's item total is the given quantities at current prices, its fees are on
    what is delivered; a proxy order given nothing has no totals (no order, empty)."""
    decided = run(cycle, policy=policy, shares=stored_shares(cycle, policy))
    for planned, request in zip(decided.proxy_orders, cycle.requests, strict=True):
        items = sum(line.price * line.quantity for line in planned.lines)
        count = sum(line.quantity for line in planned.lines)
        if count == 0:
            assert planned.empty and planned.totals is None
            continue
        fees = Decimal("1.00") * (PACKING in request.fees) + Decimal("0.10") * count * (
            BAG in request.fees
        )
        assert (planned.totals.item_total, planned.totals.fee_total) == (items, fees)
        assert planned.totals.total == items + fees
    assert len(decided.placed) + len(decided.empty) == len(cycle.requests)


@given(cycle=cycles(), allocated=st.booleans())
def test_first_come_serves_the_oldest_first(cycle, allocated):
    """Under first_come (and for every late-comer), a younger subscription gets some of a
    scarce variant only when every older one asking for it got all it asked."""
    if not allocated:
        cycle = Cycle(
            cycle.offers,
            [
                Request(
                    r.proxy_order_id,
                    r.subscription_id,
                    r.subscription_created_at,
                    r.lines,
                    False,
                    r.fees,
                )
                for r in cycle.requests
            ],
        )
    decided = run(cycle, policy=FIRST_COME, shares=stored_shares(cycle, FIRST_COME))
    ranks = {r.proxy_order_id: r.rank for r in cycle.requests}
    for variant_id in cycle.offers:
        got = sorted(
            (ranks[p.proxy_order_id], line.quantity, line.asked)
            for p in decided.proxy_orders
            for line in p.lines
            if line.variant_id == variant_id
        )
        for (_older, quantity, asked), (_younger, later, _a) in zip(got, got[1:], strict=False):
            if later > 0:
                assert quantity == asked


@given(cycle=cycles())
def test_fair_share_is_proportional_rounded_down_with_the_remainder_to_the_oldest(cycle):
    """Under fair_share, for a variant in shortage each gets at least floor(ask * stock /
    demand), all the stock is given, and the units above that go to the oldest of those
    still short; a reduced line says it is its fair share."""
    decided = run(cycle, policy=FAIR_SHARE, shares=stored_shares(cycle, FAIR_SHARE))
    ranks = {r.proxy_order_id: r.rank for r in cycle.requests}
    for variant_id, offer in cycle.offers.items():
        lines = sorted(
            (ranks[p.proxy_order_id], line)
            for p in decided.proxy_orders
            for line in p.lines
            if line.variant_id == variant_id
        )
        demand = sum(line.asked for _r, line in lines)
        if not offer.offered or offer.on_demand or demand <= offer.on_hand:
            continue
        floors = [line.asked * offer.on_hand // demand for _r, line in lines]
        assert sum(line.quantity for _r, line in lines) == offer.on_hand
        assert all(line.quantity >= f for (_r, line), f in zip(lines, floors, strict=True))
        assert all(line.quantity <= f + 1 for (_r, line), f in zip(lines, floors, strict=True))
        short = [
            line.quantity > f for (_r, line), f in zip(lines, floors, strict=True) if f < line.asked
        ]
        assert short == sorted(short, reverse=True)  # the extra units: a prefix, oldest first
        for _r, line in lines:
            if line.quantity < line.asked:
                assert line.reason == Reason.FAIR_SHARE


# --- examples -----------------------------------------------------------------------------


def _request(proxy_id, asks, *, allocated=True, day=0):
    return Request(
        proxy_order_id=proxy_id,
        subscription_id=proxy_id,
        subscription_created_at=T + timedelta(days=day),
        lines=tuple(asks),
        allocated=allocated,
        fees=(PACKING,),
    )


def test_seven_units_for_four_subscriptions_asking_4_3_4_3():
    """first_come: 4, 3, 0, 0; fair_share: 2, 1, 2, 1 and the remaining unit to the oldest."""
    offers = {1: Offer(price=Decimal("2.00"), on_hand=7)}
    for policy, expected in ((FIRST_COME, [4, 3, 0, 0]), (FAIR_SHARE, [3, 1, 2, 1])):
        cycle = Cycle(offers, [_request(i, [(1, q)]) for i, q in enumerate((4, 3, 4, 3))])
        decided = run(cycle, policy=policy, shares=stored_shares(cycle, policy))
        assert [p.lines[0].quantity for p in decided.proxy_orders] == expected
        assert decided.reserve == {1: 7}
        assert [p.proxy_order_id for p in decided.empty] == ([2, 3] if policy == FIRST_COME else [])


def test_a_line_not_offered_gives_zero_and_a_proxy_order_given_nothing_is_empty():
    offers = {
        1: Offer(price=Decimal("2.00"), on_hand=5, offered=False),
        2: Offer(price=Decimal("3.00"), on_hand=0),
        3: Offer(price=Decimal("4.00"), on_hand=0, on_demand=True),
    }
    decided = run(
        Cycle(offers, [_request(1, [(1, 2), (2, 1)]), _request(2, [(1, 1), (3, 5)])]),
        policy=FIRST_COME,
    )
    empty, placed = decided.proxy_orders
    assert empty.empty and [(li.quantity, li.reason) for li in empty.lines] == [
        (0, Reason.NOT_OFFERED),
        (0, Reason.STOCK),
    ]
    assert placed.short and [li.quantity for li in placed.lines] == [0, 5]
    assert placed.totals.total == Decimal("21.00")
    assert decided.reserve == {}


def test_a_late_comer_gets_only_what_nobody_else_holds():
    """10 units: 4 taken by an allocated proxy order of the chunk, 3 held for one pending
    elsewhere: the late-comers, oldest first, share the 3 left."""
    offers = {1: Offer(price=Decimal("1.00"), on_hand=10)}
    requests = [
        _request(1, [(1, 4)]),
        _request(2, [(1, 2)], allocated=False, day=2),
        _request(3, [(1, 2)], allocated=False, day=1),
    ]
    assert first_come_variants(requests=requests, offers=offers) == {1}
    decided = run(Cycle(offers, requests), policy=FAIR_SHARE, held={1: 3})
    assert [p.lines[0].quantity for p in decided.proxy_orders] == [4, 1, 2]
    assert decided.proxy_orders[1].lines[0].reason == Reason.STOCK
    assert decided.reserve == {1: 7}
