"""Template filters for money, dates and numbers in the reader's language (see
`cadence.formatting`, which emails use too).

`{{ amount|money:shop.currency }}`, `{{ cycle.opens_at|shop_datetime:shop }}`,
`{{ subscription.begins_at|shop_date:shop }}`, `{{ method.fee_percent|number }}`.
"""

from __future__ import annotations

from django import template

from cadence import formatting

register = template.Library()


@register.filter
def money(amount, currency="EUR"):
    return formatting.money(amount, currency or "EUR")


@register.filter
def number(value):
    return formatting.number(value)


def _zone(shop_or_zone) -> str | None:
    return getattr(shop_or_zone, "timezone", shop_or_zone) or None


@register.filter
def shop_datetime(value, shop_or_zone=None):
    """A moment in the shop's time zone (give the shop, or a zone name)."""
    return formatting.local_datetime(value, _zone(shop_or_zone))


@register.filter
def shop_date(value, shop_or_zone=None):
    return formatting.local_date(value, _zone(shop_or_zone))
