"""Writes on order cycles and schedules, with their own validation.

These know nothing of subscriptions: the use cases that also keep proxy orders in step
(`cadence.subscriptions.services.scheduling`) call them inside their transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.selectors import variants_sellable_by
from cadence.cycles.domain import as_aware, clean_fees, date_errors
from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict, ErrorCollector

CYCLE_FIELDS = ("name", "opens_at", "closes_at", "variant_ids", "fees")
SCHEDULE_FIELDS = ("name", "order_cycle_ids")


def _clean_ids(value: Any) -> list[int] | None:
    if value is None:
        return []
    if not isinstance(value, (list, tuple, set)):
        return None
    ids = []
    for raw in value:
        if isinstance(raw, bool) or not isinstance(raw, int):
            return None
        ids.append(raw)
    return list(dict.fromkeys(ids))


def _validate_cycle(
    *,
    shop: Enterprise,
    data: dict[str, Any],
    errors: ErrorCollector,
    kept_variant_ids: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """`kept_variant_ids` are already in the cycle: they stay allowed if deleted since."""
    cleaned: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("Name is required"))
    cleaned["name"] = name
    for field in ("opens_at", "closes_at"):
        value, ok = as_aware(data.get(field), tz_name=shop.timezone)
        if not ok:
            errors.add(field, _("%(field)s is not a valid date and time") % {"field": field})
        cleaned[field] = value
    if not errors.has("opens_at") and not errors.has("closes_at"):
        for field, messages in date_errors(
            opens_at=cleaned["opens_at"], closes_at=cleaned["closes_at"]
        ).items():
            for message in messages:
                errors.add(field, message)
    variant_ids = _clean_ids(data.get("variant_ids"))
    if variant_ids is None:
        errors.add("variant_ids", _("Variant ids must be a list of ids"))
    else:
        sellable = set(
            variants_sellable_by(shop).filter(pk__in=variant_ids).values_list("pk", flat=True)
        )
        for vid in variant_ids:
            if vid not in sellable and vid not in kept_variant_ids:
                errors.add(
                    "variant_ids",
                    _("Variant %(id)s is not available to %(shop)s") % {"id": vid, "shop": shop},
                )
    cleaned["variant_ids"] = variant_ids or []
    fees, fee_errors = clean_fees(data.get("fees"))
    for message in fee_errors:
        errors.add("fees", message)
    cleaned["fees"] = fees
    return cleaned


def _write_fees(order_cycle: OrderCycle, fees: Iterable[tuple[str, str, Decimal]]) -> None:
    order_cycle.fees.all().delete()
    OrderCycleFee.objects.bulk_create(
        OrderCycleFee(order_cycle=order_cycle, name=name, kind=kind, amount=amount)
        for name, kind, amount in fees
    )


@transaction.atomic(savepoint=False)
def order_cycle_create(
    *,
    shop: Enterprise,
    name: str,
    opens_at: Any,
    closes_at: Any,
    variant_ids: Iterable[int] = (),
    fees: Iterable[Any] = (),
) -> OrderCycle:
    """Create a cycle with its variants and fees. Raises ValidationFailed (name, opens_at,
    closes_at, variant_ids, fees)."""
    errors = ErrorCollector()
    data = _validate_cycle(
        shop=shop,
        data={
            "name": name,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "variant_ids": list(variant_ids),
            "fees": list(fees),
        },
        errors=errors,
    )
    errors.raise_if_any()
    order_cycle = OrderCycle.objects.create(
        shop=shop, name=data["name"], opens_at=data["opens_at"], closes_at=data["closes_at"]
    )
    order_cycle.variants.set(data["variant_ids"])
    _write_fees(order_cycle, data["fees"])
    return order_cycle


@transaction.atomic(savepoint=False)
def order_cycle_update(
    *, order_cycle: OrderCycle, changes: dict[str, Any]
) -> tuple[OrderCycle, bool]:
    """Apply `changes` (any of name, opens_at, closes_at, variant_ids, fees; the lists replace).
    Returns (cycle, whether its dates changed). Raises ValidationFailed."""
    errors = ErrorCollector()
    for key in changes:
        if key not in CYCLE_FIELDS:
            errors.add(key, _("Unknown field"))
    errors.raise_if_any()
    current: dict[str, Any] = {
        "name": order_cycle.name,
        "opens_at": order_cycle.opens_at,
        "closes_at": order_cycle.closes_at,
        "variant_ids": list(order_cycle.variants.values_list("pk", flat=True)),
        "fees": [],
    }
    merged = {**current, **changes}
    data = _validate_cycle(
        shop=order_cycle.shop,
        data=merged,
        errors=errors,
        kept_variant_ids=frozenset(current["variant_ids"]),
    )
    errors.raise_if_any()
    redated = (data["opens_at"], data["closes_at"]) != (order_cycle.opens_at, order_cycle.closes_at)
    order_cycle.name = data["name"]
    order_cycle.opens_at, order_cycle.closes_at = data["opens_at"], data["closes_at"]
    order_cycle.save(update_fields=["name", "opens_at", "closes_at", "updated_at"])
    if "variant_ids" in changes:
        order_cycle.variants.set(data["variant_ids"])
    if "fees" in changes:
        _write_fees(order_cycle, data["fees"])
    return order_cycle, redated


@transaction.atomic(savepoint=False)
def order_cycle_clone(
    *, order_cycle: OrderCycle, opens_at: Any, closes_at: Any, name: str | None = None
) -> OrderCycle:
    """A copy of the cycle with new dates: same variants, fees and schedules."""
    errors = ErrorCollector()
    opens, ok_open = as_aware(opens_at, tz_name=order_cycle.shop.timezone)
    closes, ok_close = as_aware(closes_at, tz_name=order_cycle.shop.timezone)
    if not ok_open:
        errors.add("opens_at", _("opens_at is not a valid date and time"))
    if not ok_close:
        errors.add("closes_at", _("closes_at is not a valid date and time"))
    if ok_open and ok_close:
        for field, messages in date_errors(opens_at=opens, closes_at=closes).items():
            for message in messages:
                errors.add(field, message)
    errors.raise_if_any()
    assert opens is not None and closes is not None  # both parsed, or raised above
    clone = OrderCycle.objects.create(
        shop=order_cycle.shop,
        name=name or _("%(name)s (copy)") % {"name": order_cycle.name},
        opens_at=opens,
        closes_at=closes,
    )
    clone.variants.set(order_cycle.variants.all())
    _write_fees(clone, order_cycle.fees.values_list("name", "kind", "amount"))
    clone.schedules.set(order_cycle.schedules.filter(deleted_at__isnull=True))
    return clone


@transaction.atomic(savepoint=False)
def order_cycle_delete(*, order_cycle: OrderCycle) -> None:
    """Delete a cycle that is in no schedule. Raises Conflict otherwise."""
    if order_cycle.schedules.exists():
        raise Conflict(_("This order cycle is in a schedule; remove it from the schedule first."))
    order_cycle.delete()


def _validate_schedule(
    *, shop: Enterprise, data: dict[str, Any], errors: ErrorCollector
) -> dict[str, Any]:
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("Name is required"))
    ids = _clean_ids(data.get("order_cycle_ids"))
    if ids is None:
        errors.add("order_cycle_ids", _("Order cycle ids must be a list of ids"))
        ids = []
    own = set(OrderCycle.objects.filter(shop=shop, pk__in=ids).values_list("pk", flat=True))
    for cycle_id in ids:
        if cycle_id not in own:
            errors.add(
                "order_cycle_ids",
                _("Order cycle %(id)s is not available to %(shop)s")
                % {"id": cycle_id, "shop": shop},
            )
    return {"name": name, "order_cycle_ids": ids}


@transaction.atomic(savepoint=False)
def schedule_create(
    *, shop: Enterprise, name: str, order_cycle_ids: Iterable[int] = ()
) -> Schedule:
    """Raises ValidationFailed (name, order_cycle_ids)."""
    errors = ErrorCollector()
    data = _validate_schedule(
        shop=shop, data={"name": name, "order_cycle_ids": list(order_cycle_ids)}, errors=errors
    )
    errors.raise_if_any()
    schedule = Schedule.objects.create(shop=shop, name=data["name"])
    schedule.order_cycles.set(data["order_cycle_ids"])
    return schedule


@transaction.atomic(savepoint=False)
def schedule_update(*, schedule: Schedule, changes: dict[str, Any]) -> tuple[Schedule, bool]:
    """Apply `changes` (name, order_cycle_ids). Returns (schedule, whether its set of cycles
    changed). Raises ValidationFailed."""
    errors = ErrorCollector()
    for key in changes:
        if key not in SCHEDULE_FIELDS:
            errors.add(key, _("Unknown field"))
    errors.raise_if_any()
    current_ids = set(schedule.order_cycles.values_list("pk", flat=True))
    merged = {"name": schedule.name, "order_cycle_ids": sorted(current_ids), **changes}
    data = _validate_schedule(shop=schedule.shop, data=merged, errors=errors)
    errors.raise_if_any()
    schedule.name = data["name"]
    schedule.save(update_fields=["name", "updated_at"])
    changed = set(data["order_cycle_ids"]) != current_ids
    if changed:
        schedule.order_cycles.set(data["order_cycle_ids"])
    return schedule, changed


@transaction.atomic(savepoint=False)
def schedule_delete(*, schedule: Schedule, now: datetime | None = None) -> None:
    """Delete a schedule; softly when rows still point at it (the caller decides whether
    those may exist)."""
    now = now or timezone.now()
    if schedule.subscriptions.exists():
        schedule.order_cycles.clear()
        schedule.deleted_at = now
        schedule.save(update_fields=["deleted_at", "updated_at"])
    else:
        schedule.delete()
