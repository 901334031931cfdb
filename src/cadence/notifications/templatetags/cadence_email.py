"""Formatting used by email templates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import translation

from cadence.money import minor_digits

register = template.Library()

_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF", "CAD": "$", "AUD": "$"}


@register.filter
def money(amount, currency="EUR"):
    """12.5, "EUR" -> "€12.50" in English, "12,50 €" in French."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return amount
    currency = (currency or "EUR").upper()
    digits = minor_digits(currency)
    number = f"{value:,.{digits}f}"
    symbol = _SYMBOLS.get(currency, currency)
    if (translation.get_language() or "en").startswith("fr"):
        number = number.replace(",", "\u202f").replace(".", ",")
        return f"{number}\u00a0{symbol}"
    return f"{symbol}{number}"
