"""Pure rules of order cycles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cadence.cycles.domain import as_aware, clean_fees, date_errors, is_closed, is_open

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_open_from_opening_until_closing_excluded():
    """Open at opens_at; closed at closes_at."""
    end = T + timedelta(days=1)
    assert is_open(opens_at=T, closes_at=end, now=T) is True
    assert is_open(opens_at=T, closes_at=end, now=end) is False
    assert is_closed(closes_at=end, now=end) is True


def test_date_errors():
    """Both dates required; the close strictly after the open."""
    assert date_errors(opens_at=T, closes_at=T) == {
        "closes_at": ["Closes at must be after opens at"]
    }
    assert set(date_errors(opens_at=None, closes_at=None)) == {"opens_at", "closes_at"}


def test_clean_fees():
    """Valid fees become tuples; problems are listed."""
    fees, errors = clean_fees([{"name": "Pack", "kind": "per_item", "amount": "0.5"}])
    assert (fees, errors) == ([("Pack", "per_item", Decimal("0.5"))], [])
    fees, errors = clean_fees([{"name": "", "kind": "per_item", "amount": "x"}, "nope"])
    assert fees == []
    assert errors == [
        "Fee 1: name is required",
        "Fee 1: amount must be a number",
        "Fee 2 must be an object with name, kind and amount",
    ]


def test_as_aware_reads_local_times_in_shop_zone():
    """A time without offset, or a date, is in the shop's zone."""
    value, ok = as_aware("2026-03-10T09:00:00", tz_name="Europe/Paris")
    assert ok and value == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    value, ok = as_aware(date(2026, 7, 1), tz_name="Europe/Paris")
    assert ok and value == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert as_aware("soon", tz_name="Europe/Paris") == (None, False)
