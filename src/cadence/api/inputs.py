"""Types of the values request bodies carry: JSON types taken strictly, within the database's
limits, so that a wrong value answers 422 naming its field instead of being coerced or
failing in the database.

- Ids and counts are JSON integers (not `true`, not `"2"`), ids within a 64-bit column,
  counts (stock, quantities) within a 32-bit one.
- Text is a JSON string without NUL characters (PostgreSQL cannot store them); lengths are
  given per field with `Field(max_length=...)`, as in the models.
- Flags are JSON booleans (not `1`, not `"true"`).
- Datetimes and dates are ISO 8601 strings (not numbers, which pydantic would read as Unix
  timestamps).
- Money is a string (`"12.50"`) or a number, at least 0, with at most two decimals and ten
  integer digits (the columns are DECIMAL(12, 2)); `true` is refused.

Query strings are text by nature: the query schemas keep pydantic's conversions.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from django.utils.translation import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, StrictStr

# BigAutoField primary keys, and IntegerField counts.
MAX_ID = 2**63 - 1
MAX_COUNT = 2**31 - 1


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


Id = Annotated[StrictInt, Field(ge=-MAX_ID - 1, le=MAX_ID)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)]
Text = Annotated[StrictStr, AfterValidator(_no_nul)]
Flag = StrictBool
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
IsoDate = Annotated[date, BeforeValidator(_iso_text)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
