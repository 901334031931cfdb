"""Allocation arithmetic: who gets scarce stock, and its stored form (pure, no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cadence.subscriptions.allocation import FAIR_SHARE, FIRST_COME, Claim, Share, allocate


def _claims(*quantities):
    return [Claim(key=i, rank=(i,), quantity=q) for i, q in enumerate(quantities)]


def test_enough_stock_gives_everyone_what_they_asked():
    """No shortage: nobody is capped, whatever the policy."""
    assert allocate(claims=_claims(2, 3), stock=5, policy=FAIR_SHARE) == {0: 2, 1: 3}
    assert allocate(claims=_claims(2, 3), stock=None, policy=FIRST_COME) == {0: 2, 1: 3}


def test_first_come_serves_the_oldest_in_full():
    """first_come: oldest first, the next gets the rest, later ones nothing."""
    assert allocate(claims=_claims(4, 3, 4), stock=6, policy=FIRST_COME) == {0: 4, 1: 2, 2: 0}


def test_fair_share_is_proportional_rounded_down_with_the_remainder_to_the_oldest():
    """fair_share: floor(ask * stock / demand), then one unit each to the oldest still short."""
    assert allocate(claims=_claims(4, 3, 4, 3), stock=7, policy=FAIR_SHARE) == {
        0: 3,
        1: 1,
        2: 2,
        3: 1,
    }
    assert allocate(claims=_claims(1, 1, 1), stock=2, policy=FAIR_SHARE) == {0: 1, 1: 1, 2: 0}


def test_the_result_does_not_depend_on_the_order_claims_are_given():
    """Ranks decide, not list order."""
    claims = _claims(5, 2, 7)
    assert allocate(claims=claims, stock=6, policy=FAIR_SHARE) == allocate(
        claims=list(reversed(claims)), stock=6, policy=FAIR_SHARE
    )


@given(
    quantities=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30),
    stock=st.integers(min_value=0, max_value=400),
    policy=st.sampled_from([FIRST_COME, FAIR_SHARE]),
)
def test_never_more_than_asked_never_more_than_stock_and_nothing_wasted(quantities, stock, policy):
    """Whatever the inputs: each gets between 0 and what it asked, the total given is
    min(stock, demand), and under fair share nobody gets less than their rounded-down
    proportion."""
    claims = _claims(*quantities)
    shares = allocate(claims=claims, stock=stock, policy=policy)
    demand = sum(quantities)
    assert all(0 <= shares[c.key] <= c.quantity for c in claims)
    assert sum(shares.values()) == min(stock, demand)
    if policy == FAIR_SHARE and demand > stock:
        assert all(shares[c.key] >= c.quantity * stock // demand for c in claims)


@given(
    quantities=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30),
    stock=st.integers(min_value=0, max_value=400),
    policy=st.sampled_from([FIRST_COME, FAIR_SHARE]),
    given_demand=st.booleans(),
)
def test_the_streamed_share_gives_each_claim_what_allocate_gives(
    quantities, stock, policy, given_demand
):
    """A cycle-wide `Share` (built by streaming the claims, kept in constant space) answers
    for every claim exactly what `allocate` gives with all claims in memory; None when
    nobody is capped."""
    claims = _claims(*quantities)
    expected = allocate(claims=claims, stock=stock, policy=policy)
    share = Share.build(
        claims=lambda: ((c.rank, c.quantity) for c in claims),
        stock=stock,
        policy=policy,
        demand=sum(quantities) if given_demand else None,
    )
    if share is None:
        assert sum(quantities) <= stock
        assert expected == {c.key: c.quantity for c in claims}
    else:
        assert {c.key: share.given(quantity=c.quantity, rank=c.rank) for c in claims} == expected
