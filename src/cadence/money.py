"""Money arithmetic: Decimal only, rounded half-up to each currency's minor unit."""

import functools
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_UNIT_DIGITS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "XOF": 0,
    "XAF": 0,
    "BHD": 3,
    "KWD": 3,
}
ZERO = Decimal("0")


def minor_digits(currency: str) -> int:
    return _MINOR_UNIT_DIGITS.get(currency.upper(), 2)


@functools.cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(currency))


def round_money(amount: Decimal, currency: str = "EUR") -> Decimal:
    """Round half-up to the currency's minor unit."""
    return Decimal(amount).quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str = "EUR") -> int:
    """The integer amount Stripe expects (cents for EUR)."""
    return int(round_money(amount, currency).scaleb(minor_digits(currency)))


def format_money(amount: Decimal) -> str:
    """The API's representation: a string with two decimals."""
    return f"{Decimal(amount).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"
