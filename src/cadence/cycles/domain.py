"""Pure rules about order cycles: when a cycle is open, upcoming or closed, and valid fees.

A cycle is open from `opens_at` (included) to `closes_at` (excluded): at the instant it
closes, no more changes are allowed and confirmation may run.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

FEE_KINDS = ("per_order", "per_item", "percent")


# The rule rests on two comparisons with the cycle's bounds, nothing else: a cycle has opened
# once `opens_at <= now`, and has closed once `closes_at <= now`. Open is opened and not
# closed, upcoming is not opened, current is not closed (open or upcoming). The database
# side (`cycles.selectors.open_q` and its siblings) states the same comparisons as lookups;
# tests/cycles/test_cycle_rule.py checks that both agree at the boundaries.


def has_opened(*, opens_at: datetime, now: datetime) -> bool:
    return opens_at <= now


def is_closed(*, closes_at: datetime, now: datetime) -> bool:
    return closes_at <= now


def is_open(*, opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    return has_opened(opens_at=opens_at, now=now) and not is_closed(closes_at=closes_at, now=now)


def is_upcoming(*, opens_at: datetime, now: datetime) -> bool:
    return not has_opened(opens_at=opens_at, now=now)


def is_current(*, closes_at: datetime, now: datetime) -> bool:
    """Not closed yet: open or upcoming, what a manager or a buyer can still change."""
    return not is_closed(closes_at=closes_at, now=now)


def order_cycle_is_open(order_cycle: Any, *, now: datetime) -> bool:
    """`is_open` for anything with `opens_at` and `closes_at` (an `OrderCycle`)."""
    return is_open(opens_at=order_cycle.opens_at, closes_at=order_cycle.closes_at, now=now)


def order_cycle_is_closed(order_cycle: Any, *, now: datetime) -> bool:
    """`is_closed` for anything with `closes_at` (an `OrderCycle`)."""
    return is_closed(closes_at=order_cycle.closes_at, now=now)


def date_errors(*, opens_at: Any, closes_at: Any) -> dict[str, list[str]]:
    """Errors by field for a cycle's dates (both required, the close after the open)."""
    errors: dict[str, list[str]] = {}
    if opens_at is None:
        errors["opens_at"] = [_("Opens at is required")]
    if closes_at is None:
        errors["closes_at"] = [_("Closes at is required")]
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        errors["closes_at"] = [_("Closes at must be after opens at")]
    return errors


def clean_fees(value: Any) -> tuple[list[tuple[str, str, Decimal]], list[str]]:
    """Normalise `[{name, kind, amount}]`; returns ((name, kind, amount) tuples, errors)."""
    if value is None:
        return [], []
    if not isinstance(value, (list, tuple)):
        return [], [_("Fees must be a list of {name, kind, amount}")]
    fees: list[tuple[str, str, Decimal]] = []
    errors: list[str] = []
    for index, raw in enumerate(value, start=1):
        if not isinstance(raw, dict):
            errors.append(
                _("Fee %(n)s must be an object with name, kind and amount") % {"n": index}
            )
            continue
        name = str(raw.get("name") or "").strip()
        kind = raw.get("kind")
        if not name:
            errors.append(_("Fee %(n)s: name is required") % {"n": index})
        if kind not in FEE_KINDS:
            errors.append(
                _("Fee %(n)s: kind must be one of per_order, per_item, percent") % {"n": index}
            )
        try:
            amount = Decimal(str(raw.get("amount")))
            if not amount.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(_("Fee %(n)s: amount must be a number") % {"n": index})
            continue
        if amount < 0:
            errors.append(_("Fee %(n)s: amount must be zero or more") % {"n": index})
            continue
        fees.append((name, str(kind), amount))
    return (fees if not errors else []), errors


def as_aware(value: Any, *, tz_name: str) -> tuple[datetime | None, bool]:
    """Read a datetime given as a datetime, a date (midnight) or ISO text; a value without an
    offset is in the shop's time zone. Returns (datetime or None, ok)."""
    from datetime import date
    from zoneinfo import ZoneInfo

    if value is None or value == "":
        return None, True
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None, False
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        return None, False
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz_name))
    return value, True
