"""Types of the values request bodies carry: JSON types taken strictly, within the database's
limits, so that a wrong value answers 422 naming its field instead of being coerced or
failing in the database.

- A body is a JSON object of known fields (`In`): an array or a string instead of an object,
  or a field the schema does not have, is refused (`extra_forbidden` → "Unknown field."),
  at the top level as inside nested objects and list items.
- Ids and counts are JSON integers (not `true`, not `"2"`), ids within a 64-bit column;
  quantities are whole numbers from 1 to 9,999; stock from 0 to a million.
- Text is a JSON string without NUL characters (PostgreSQL cannot store them), at most as
  long as its column (`Field(max_length=...)`, documented as `maxLength`).
- Flags are JSON booleans (not `1`, not `"true"`).
- Datetimes and dates are ISO 8601 strings (not numbers, which pydantic would read as Unix
  timestamps) in the years 1900 to 2200: beyond, time zones have no real offsets and some
  conversions overflow.
- Money is a string (`"12.50"`) or a number, at least 0, with at most two decimals and ten
  integer digits (the columns are DECIMAL(12, 2)); `true` is refused.

Query strings are text by nature: the query schemas keep pydantic's conversions, within the
same limits (`QueryId`, `QueryText`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_serializer,
)

# BigAutoField primary keys, and IntegerField counts.
MAX_ID = 2**63 - 1
MAX_COUNT = 2**31 - 1
MAX_QUANTITY = 9_999
MAX_STOCK = 1_000_000
MIN_YEAR, MAX_YEAR = 1900, 2200
# Addresses are JSON copies (no columns): lines as long as a postal address line gets.
ADDRESS_LINE_LENGTH = 255
# Free text stored in a TEXT column (descriptions): long enough for a paragraph or two.
DESCRIPTION_LENGTH = 2000


# The default of a field a partial update may leave out: None at run time, which pydantic does
# not validate (so an explicit null is still refused); typed Any so the field keeps its type.
UNSET: Any = None


class In(Schema):
    """A request body or a nested object of one: only the fields it declares."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_("Text cannot contain a NUL character."))
    return value


def _iso_text(value):
    """Only ISO 8601 text (or an already parsed value) is a date or datetime; a number, or
    text that is one, would otherwise be read as a Unix timestamp."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(_("Enter a date or date and time as an ISO 8601 string."))
    try:
        float(value)
    except ValueError:
        return value
    raise ValueError(_("Enter a date or date and time as an ISO 8601 string."))


def _datetime_in_range(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            _("Enter a date and time between the years %(min)d and %(max)d.")
            % {"min": MIN_YEAR, "max": MAX_YEAR}
        )
    return value


def _date_in_range(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            _("Enter a date between the years %(min)d and %(max)d.")
            % {"min": MIN_YEAR, "max": MAX_YEAR}
        )
    return value


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(_("is not a known time zone (e.g. Europe/Paris)")) from None
    return value


Id = Annotated[StrictInt, Field(ge=-MAX_ID - 1, le=MAX_ID)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
# A buyer lowering an order's line: 0 removes it.
QuantityOrZero = Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]
Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
Text = Annotated[StrictStr, AfterValidator(_no_nul)]
Flag = StrictBool
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_datetime_in_range)]
IsoDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_date_in_range)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
TimeZoneName = Annotated[Text, Field(max_length=64), AfterValidator(_known_zone)]

QueryId = Annotated[int, Field(ge=-MAX_ID - 1, le=MAX_ID)]
QueryText = Annotated[str, Field(max_length=200), AfterValidator(_no_nul)]


# Address lines: the limit is on the text itself (on `Text | None` it would apply to the union).
_Line100 = Annotated[Text, Field(max_length=100)] | None
_AddressLine = Annotated[Text, Field(max_length=ADDRESS_LINE_LENGTH)] | None
_Line20 = Annotated[Text, Field(max_length=20)] | None
_Line2 = Annotated[Text, Field(max_length=2)] | None
_Line50 = Annotated[Text, Field(max_length=50)] | None


class AddressIn(In):
    """An address: `country` is an ISO code; the service checks what is required."""

    first_name: _Line100 = None
    last_name: _Line100 = None
    address1: _AddressLine = None
    address2: _AddressLine = None
    city: _AddressLine = None
    postcode: _Line20 = None
    country: _Line2 = None
    phone: _Line50 = None

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        # Services read an address as given: `{}` is "no address", an absent field is blank.
        data = handler(self)
        return {key: value for key, value in data.items() if key in self.model_fields_set}
