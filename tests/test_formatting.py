"""`cadence.formatting`, the one helper pages and emails format money, moments, days and
numbers with: English and French conventions, the shop's time zone, nothing for no value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from cadence import formatting

NBSP = "\u00a0"  # between an amount and its currency sign, and before `:` in French
NNBSP = "\u202f"  # the French thousands separator


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (Decimal("34.2"), "EUR", "en", "€34.20"),
        (Decimal("34.2"), "EUR", "fr", f"34,20{NBSP}€"),
        (Decimal("1234.5"), "EUR", "en", "€1,234.50"),
        (Decimal("1234.5"), "EUR", "fr", f"1{NNBSP}234,50{NBSP}€"),
        (Decimal("1234567.891"), "EUR", "fr", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        # Half-up to the cent, not to the even cent (Python's default).
        (Decimal("0.125"), "EUR", "en", "€0.13"),
        (Decimal("0.005"), "EUR", "fr", f"0,01{NBSP}€"),
        (Decimal("2.345"), "EUR", "en", "€2.35"),
        # A currency without minor unit: no decimals, rounded half-up.
        (Decimal("1234.5"), "JPY", "en", "¥1,235"),
        (Decimal("1234.5"), "JPY", "fr", f"1{NNBSP}235{NBSP}JPY"),
        # Three decimals for the Bahraini dinar.
        (Decimal("12.3456"), "BHD", "en", "BHD12.346"),
        # Strings and integers as stored or typed.
        ("12.5", "EUR", "en", "€12.50"),
        (20, "CAD", "en", "CA$20.00"),
        (20, "CAD", "fr", f"20,00{NBSP}$CA"),
    ],
)
def test_money_in_english_and_french(amount, currency, language, expected):
    """An amount reads with its currency where each language puts it, grouped by thousands,
    rounded half-up to the currency's minor unit."""
    assert formatting.money(amount, currency, language=language) == expected


def test_money_follows_the_active_language_and_defaults_to_euros():
    """Without a language, the active one (the page's or the email's) decides; without a
    currency, euros."""
    with translation.override("fr"):
        assert formatting.money("12.5") == f"12,50{NBSP}€"
    with translation.override("en"):
        assert formatting.money("12.5") == "€12.50"
    assert formatting.money("3", "eur", language="en") == "€3.00"  # any case


@pytest.mark.parametrize("empty", [None, ""])
def test_no_amount_reads_as_nothing(empty):
    """A missing amount is an empty string, not `None` or `0`."""
    assert formatting.money(empty, "EUR", language="fr") == ""
    assert formatting.number(empty, language="fr") == ""


def test_an_unreadable_amount_is_shown_as_it_is():
    """Text that is not a number is given back untouched rather than failing the page."""
    assert formatting.money("n/a", "EUR", language="en") == "n/a"


def test_numbers_use_the_languages_decimal_mark_without_trailing_zeros():
    """Quantities and percentages: `2,5` in French, `2.5` in English; no `2.50`."""
    assert formatting.number(Decimal("2.50"), language="fr") == "2,5"
    assert formatting.number(Decimal("2.50"), language="en") == "2.5"
    assert formatting.number(Decimal("1234.5"), language="en") == "1,234.5"
    assert formatting.number(10, language="fr") == "10"


def test_datetimes_are_shown_on_the_shops_clock():
    """A UTC moment reads in the given zone, day before month, 24-hour time: 17:00 UTC on
    2 December is 18:00 in Paris (winter, UTC+1)."""
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert formatting.local_datetime(moment, "Europe/Paris", language="en") == "2 Dec 2026, 18:00"
    assert formatting.local_datetime(moment, "Europe/Paris", language="fr") == "2 déc. 2026 18:00"


def test_datetimes_follow_daylight_saving_time():
    """In summer Paris is UTC+2; the day the clocks go forward (29 March 2026) a moment after
    the change is two hours ahead, one before it is one hour ahead."""
    summer = datetime(2026, 7, 14, 16, 5, tzinfo=UTC)
    assert formatting.local_datetime(summer, "Europe/Paris", language="fr") == "14 juil. 2026 18:05"
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    after = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert formatting.local_datetime(before, "Europe/Paris", language="en") == "29 Mar 2026, 01:30"
    assert formatting.local_datetime(after, "Europe/Paris", language="en") == "29 Mar 2026, 10:00"


def test_datetimes_never_read_in_the_us_order():
    """No `12/02/2026` in either language."""
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    for language in ("en", "fr"):
        text = formatting.local_datetime(moment, "Europe/Paris", language=language)
        assert "/" not in text and text.startswith("2 ")


def test_datetimes_with_an_unknown_or_no_zone_read_in_utc():
    """A zone name that does not exist, or none, falls back to UTC instead of failing; a
    naive datetime is taken as being in the zone already."""
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert formatting.local_datetime(moment, "Mars/Olympus", language="en") == "2 Dec 2026, 17:00"
    assert formatting.local_datetime(moment, None, language="en") == "2 Dec 2026, 17:00"
    naive = datetime(2026, 12, 2, 17, 0)
    assert formatting.local_datetime(naive, "Europe/Paris", language="en") == "2 Dec 2026, 17:00"


def test_dates_read_day_month_year():
    """A calendar day: `2 Dec 2026` / `2 déc. 2026`."""
    assert formatting.local_date(date(2026, 12, 2), language="en") == "2 Dec 2026"
    assert formatting.local_date(date(2026, 12, 2), language="fr") == "2 déc. 2026"
    assert formatting.local_date(date(2026, 2, 8), language="fr") == "8 févr. 2026"


def test_a_datetime_given_as_a_date_is_the_day_in_the_zone():
    """23:30 UTC on 31 December is already 1 January in Paris."""
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert formatting.local_date(moment, "Europe/Paris", language="en") == "1 Jan 2027"
    assert formatting.local_date(moment, "UTC", language="fr") == "31 déc. 2026"


def test_no_moment_reads_as_nothing():
    """`None` gives an empty string for moments and days."""
    assert formatting.local_datetime(None, "Europe/Paris", language="fr") == ""
    assert formatting.local_date(None, "Europe/Paris", language="fr") == ""


def test_any_french_or_english_variant_counts():
    """`fr-CA` reads as French, `en-GB` as English, anything else as English."""
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert formatting.local_datetime(moment, "UTC", language="fr-ca") == "2 déc. 2026 17:00"
    assert formatting.local_datetime(moment, "UTC", language="en-gb") == "2 Dec 2026, 17:00"
    assert formatting.local_datetime(moment, "UTC", language="de") == "2 Dec 2026, 17:00"
