"""Helpers shared by the routers: time zones, money and the small response schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from ninja import Schema

from cadence.enterprises.models import Enterprise
from cadence.money import format_money


class Detail(Schema):
    detail: str


class Errors(Schema):
    errors: dict[str, list[str]]


def shop_zone(shop: Enterprise) -> ZoneInfo:
    return ZoneInfo(shop.timezone)


def aware(value: datetime | None, shop: Enterprise) -> datetime | None:
    """Input datetimes without an offset are read in the shop's time zone."""
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=shop_zone(shop))


def local(value: datetime | None, shop: Enterprise) -> datetime | None:
    """Output datetimes in the shop's time zone (with its offset)."""
    if value is None:
        return None
    return value.astimezone(shop_zone(shop))


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else format_money(amount)


# Answers the routers document besides their success answer.
READ_ERRORS = {401: Detail, 404: Detail}
WRITE_ERRORS = {401: Detail, 403: Detail, 404: Detail, 409: Detail, 422: Errors}
