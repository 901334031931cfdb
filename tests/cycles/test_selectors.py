"""One rule for "open, closed, upcoming": the database's query expressions
(`cycles.selectors.*_q`) say what the pure functions (`cycles.domain`) say, at the
boundaries too. Open from `opens_at` included to `closes_at` excluded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cadence.cycles import domain
from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
from cadence.cycles.selectors import closed_q, current_q, open_q, opened_q, upcoming_q
from tests.support import factories

pytestmark = pytest.mark.django_db

OPENS = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CLOSES = datetime(2026, 3, 17, 18, 30, tzinfo=UTC)
TICK = timedelta(microseconds=1)

# Every instant where the answer changes, and one microsecond on either side.
INSTANTS = [OPENS - TICK, OPENS, OPENS + TICK, CLOSES - TICK, CLOSES, CLOSES + TICK]

# (query expression, the domain's answer for the cycle at `now`)
RULES = {
    "open": (
        open_q,
        lambda c, now: domain.is_open(opens_at=c.opens_at, closes_at=c.closes_at, now=now),
    ),
    "closed": (closed_q, lambda c, now: domain.is_closed(closes_at=c.closes_at, now=now)),
    "upcoming": (upcoming_q, lambda c, now: domain.is_upcoming(opens_at=c.opens_at, now=now)),
    "current": (current_q, lambda c, now: domain.is_current(closes_at=c.closes_at, now=now)),
    "opened": (opened_q, lambda c, now: domain.has_opened(opens_at=c.opens_at, now=now)),
}


@pytest.fixture
def cycle() -> OrderCycle:
    shop = factories.shop()
    oc = factories.order_cycle(
        shop, opens_at=OPENS, closes_at=CLOSES, fees=[("Packing", "per_order", "1.00")]
    )
    factories.schedule(shop, cycles=[oc])
    return oc


def test_the_domain_reads_the_boundaries_as_documented():
    """At opens_at the cycle is open; at closes_at it is closed; a microsecond before
    opens_at it is upcoming, a microsecond before closes_at still open."""
    c = OrderCycle(opens_at=OPENS, closes_at=CLOSES)

    def states(now):
        return {name: answer(c, now) for name, (_q, answer) in RULES.items()}

    assert states(OPENS - TICK) == {
        "open": False,
        "closed": False,
        "upcoming": True,
        "current": True,
        "opened": False,
    }
    assert states(OPENS) == {
        "open": True,
        "closed": False,
        "upcoming": False,
        "current": True,
        "opened": True,
    }
    assert states(CLOSES - TICK) == {
        "open": True,
        "closed": False,
        "upcoming": False,
        "current": True,
        "opened": True,
    }
    assert states(CLOSES) == {
        "open": False,
        "closed": True,
        "upcoming": False,
        "current": False,
        "opened": True,
    }
    assert domain.order_cycle_is_open(c, now=OPENS) is True
    assert domain.order_cycle_is_closed(c, now=CLOSES) is True


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("now", INSTANTS, ids=lambda t: t.isoformat())
def test_the_query_agrees_with_the_domain(cycle, name, now):
    """On the cycle itself, through a foreign key (a fee's `order_cycle__`) and through a
    many-to-many (a schedule's `order_cycles__`), and with `now` in another time zone."""
    q, answer = RULES[name]
    expected = answer(cycle, now)
    for moment in (now, now.astimezone(ZoneInfo("Pacific/Auckland"))):
        assert OrderCycle.objects.filter(q(moment), pk=cycle.pk).exists() is expected
        assert (
            OrderCycleFee.objects.filter(
                q(moment, prefix="order_cycle__"), order_cycle=cycle
            ).exists()
            is expected
        )
        assert (
            Schedule.objects.filter(q(moment, prefix="order_cycles__"), shop=cycle.shop).exists()
            is expected
        )


def test_open_through_a_relation_means_one_cycle_open():
    """A schedule with a closed cycle and an upcoming one has no open cycle, though one of
    its cycles has opened and one has not closed: both bounds apply to the same cycle."""
    shop = factories.shop()
    past = factories.order_cycle(shop, opens_at=OPENS, closes_at=CLOSES)
    later = factories.order_cycle(
        shop, opens_at=CLOSES + timedelta(days=7), closes_at=CLOSES + timedelta(days=14)
    )
    factories.schedule(shop, cycles=[past, later])
    now = CLOSES + timedelta(days=1)

    schedules = Schedule.objects.filter(shop=shop)
    assert schedules.filter(opened_q(now, prefix="order_cycles__")).exists() is True
    assert schedules.filter(current_q(now, prefix="order_cycles__")).exists() is True
    assert schedules.filter(open_q(now, prefix="order_cycles__")).exists() is False
