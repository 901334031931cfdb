"""How money, dates and times read, in the reader's language: one place for pages and emails.

Babel (CLDR data) knows each language's conventions, so nothing is written by hand per
template: French reads `34,20 €` and `2 déc. 2026 18:00`, English `€34.20` and
`2 Dec 2026, 18:00`. Day before month in both, never the US order. Times are shown in the
shop's time zone (the shop's cycles open and close on the shop's clock); they are stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal
from django.utils import translation

from cadence.money import round_money

# CLDR's "medium" styles differ from what French and English shop managers write (English
# puts the month first, French adds seconds), so the patterns are spelled out per language.
_DATETIME_PATTERNS = {"fr": "d MMM y HH:mm", "en": "d MMM y, HH:mm"}
_DATE_PATTERNS = {"fr": "d MMM y", "en": "d MMM y"}


def reader_language(language: str | None = None) -> str:
    """`language`, or the active one (the page's, or the email's), reduced to en or fr."""
    code = (language or translation.get_language() or "en").lower()
    return "fr" if code.startswith("fr") else "en"


def money(amount: Decimal | int | str | None, currency: str = "EUR", *, language=None) -> str:
    """An amount with its currency, rounded to the currency's minor unit: `34,20 €`."""
    if amount is None or amount == "":
        return ""
    try:
        value = round_money(Decimal(str(amount)), currency or "EUR")
    except (InvalidOperation, ValueError):
        return str(amount)
    return format_currency(
        value, (currency or "EUR").upper(), locale=reader_language(language), currency_digits=True
    )


def number(value: Decimal | int | str | None, *, language=None) -> str:
    """A plain number (a quantity, a percentage) with the language's decimal mark."""
    if value is None or value == "":
        return ""
    try:
        decimal = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format_decimal(decimal.normalize(), locale=reader_language(language))


def _local(value: datetime, tz_name: str | None) -> datetime:
    try:
        zone = ZoneInfo(tz_name or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)


def local_datetime(value: datetime | None, tz_name: str | None = None, *, language=None) -> str:
    """A moment in the given time zone (the shop's): `2 déc. 2026 18:00`."""
    if value is None:
        return ""
    language = reader_language(language)
    return babel_format_datetime(
        _local(value, tz_name), _DATETIME_PATTERNS[language], locale=language
    )


def local_date(value: date | datetime | None, tz_name: str | None = None, *, language=None) -> str:
    """A calendar day; a datetime is first moved to the time zone: `2 déc. 2026`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value, tz_name).date()
    language = reader_language(language)
    return babel_format_date(value, _DATE_PATTERNS[language], locale=language)
