"""Formatting used by email templates: the same helpers as the pages (`cadence.formatting`)."""

from __future__ import annotations

from django import template

from cadence import formatting

register = template.Library()


@register.filter
def money(amount, currency="EUR"):
    """12.5, "EUR" -> "€12.50" in English, "12,50 €" in French."""
    return formatting.money(amount, currency or "EUR")
