"""Order cycles (with their variants and fees), schedules, and the forecast of a cycle."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, aware, local, money
from cadence.api.forecast import forecast_for_cycle
from cadence.api.inputs import UNSET, Id, In, IsoDateTime, Money, Text
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.cycles.models import OrderCycle, Schedule
from cadence.cycles.selectors import (
    order_cycle_for_manager,
    order_cycle_with_details,
    order_cycles_with_details_for_shop,
    schedule_for_manager,
    schedules_with_cycles_for_shop,
)
from cadence.enterprises.selectors import enterprise_for_manager
from cadence.subscriptions.services import scheduling

router = Router(tags=["order cycles and schedules"])


class FeeIn(In):
    name: Text = Field(..., min_length=1, max_length=200)
    kind: Literal["per_order", "per_item", "percent"]
    amount: Money


class OrderCycleIn(In):
    name: Text = Field(..., max_length=200)
    opens_at: IsoDateTime
    closes_at: IsoDateTime
    variant_ids: list[Id] = []
    fees: list[FeeIn] = []


class OrderCyclePatch(In):
    name: Text = Field(UNSET, max_length=200)
    opens_at: IsoDateTime = UNSET
    closes_at: IsoDateTime = UNSET
    variant_ids: list[Id] = UNSET
    fees: list[FeeIn] = UNSET


class FeeOut(Schema):
    id: int
    name: str
    kind: str
    amount: str


class OrderCycleOut(Schema):
    id: int
    shop_id: int
    name: str
    opens_at: datetime
    closes_at: datetime
    variant_ids: list[int]
    fees: list[FeeOut]
    schedule_ids: list[int]


class ScheduleIn(In):
    name: Text = Field(..., max_length=200)
    order_cycle_ids: list[Id] = []


class SchedulePatch(In):
    name: Text = Field(UNSET, max_length=200)
    order_cycle_ids: list[Id] = UNSET


class ScheduleOut(Schema):
    id: int
    shop_id: int
    name: str
    order_cycle_ids: list[int]


class ForecastRow(Schema):
    variant_id: int
    producer_id: int
    requested: int
    on_hand: int | None
    shortfall: int


OrderCyclePage = page_schema(OrderCycleOut, "OrderCyclePage")
SchedulePage = page_schema(ScheduleOut, "SchedulePage")


def order_cycle_out(cycle: OrderCycle) -> dict:
    shop = cycle.shop
    return {
        "id": cycle.pk,
        "shop_id": cycle.shop_id,
        "name": cycle.name,
        "opens_at": local(cycle.opens_at, shop),
        "closes_at": local(cycle.closes_at, shop),
        "variant_ids": sorted(v.pk for v in cycle.variants.all()),
        "fees": [
            {"id": f.pk, "name": f.name, "kind": f.kind, "amount": money(f.amount)}
            for f in cycle.fees.all()
        ],
        "schedule_ids": sorted(
            s.pk for s in cycle.schedules.all() if getattr(s, "deleted_at", None) is None
        ),
    }


def schedule_out(schedule: Schedule) -> dict:
    return {
        "id": schedule.pk,
        "shop_id": schedule.shop_id,
        "name": schedule.name,
        "order_cycle_ids": sorted(c.pk for c in schedule.order_cycles.all()),
    }


def _cycle_values(values: dict, shop) -> dict:
    """Read naive datetimes in the shop's zone; fees as plain dicts for the service."""
    for field in ("opens_at", "closes_at"):
        if field in values:
            values[field] = aware(values[field], shop)
    if values.get("fees") is not None:
        values["fees"] = [dict(fee) for fee in values["fees"]]
    return values


def _reloaded_cycle(pk: int) -> OrderCycle:
    return order_cycle_with_details(order_cycle_id=pk)


@router.post(
    "/enterprises/{int:enterprise_id}/order-cycles", response={201: OrderCycleOut, **WRITE_ERRORS}
)
def create_order_cycle(request: ApiRequest, enterprise_id: int, payload: OrderCycleIn):
    """Create a cycle; datetimes without an offset are in the shop's time zone."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    values = _cycle_values(payload.dict(), shop)
    cycle = scheduling.order_cycle_create(shop=shop, **values)
    return Status(201, order_cycle_out(_reloaded_cycle(cycle.pk)))


@router.get(
    "/enterprises/{int:enterprise_id}/order-cycles", response={200: OrderCyclePage, **READ_ERRORS}
)
def list_order_cycles(request: ApiRequest, enterprise_id: int, page: Query[PageParams]):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = order_cycles_with_details_for_shop(shop=shop)
    return paginate(qs, page, lambda rows: [order_cycle_out(c) for c in rows])


@router.get("/order-cycles/{int:order_cycle_id}", response={200: OrderCycleOut, **READ_ERRORS})
def get_order_cycle(request: ApiRequest, order_cycle_id: int):
    cycle = order_cycle_for_manager(user=request.auth, order_cycle_id=order_cycle_id)
    return order_cycle_out(_reloaded_cycle(cycle.pk))


@router.patch("/order-cycles/{int:order_cycle_id}", response={200: OrderCycleOut, **WRITE_ERRORS})
def update_order_cycle(request: ApiRequest, order_cycle_id: int, payload: OrderCyclePatch):
    """Change a cycle; moving `closes_at` to the past closes it early."""
    cycle = order_cycle_for_manager(user=request.auth, order_cycle_id=order_cycle_id)
    changes = _cycle_values(payload.dict(exclude_unset=True), cycle.shop)
    scheduling.order_cycle_update(order_cycle=cycle, changes=changes)
    return order_cycle_out(_reloaded_cycle(cycle.pk))


@router.get(
    "/order-cycles/{int:order_cycle_id}/forecast", response={200: list[ForecastRow], **READ_ERRORS}
)
def get_forecast(request: ApiRequest, order_cycle_id: int):
    """Per variant of the cycle: what the active subscriptions still to be placed in it ask
    for, against stock (`on_hand` null for on-demand variants). A plain array, as api.md
    shows: one row per variant of the cycle."""
    cycle = order_cycle_for_manager(user=request.auth, order_cycle_id=order_cycle_id)
    return forecast_for_cycle(order_cycle=cycle)


@router.post(
    "/enterprises/{int:enterprise_id}/schedules", response={201: ScheduleOut, **WRITE_ERRORS}
)
def create_schedule(request: ApiRequest, enterprise_id: int, payload: ScheduleIn):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    schedule = scheduling.schedule_create(
        shop=shop, name=payload.name, order_cycle_ids=payload.order_cycle_ids
    )
    return Status(201, schedule_out(schedule))


@router.get(
    "/enterprises/{int:enterprise_id}/schedules", response={200: SchedulePage, **READ_ERRORS}
)
def list_schedules(request: ApiRequest, enterprise_id: int, page: Query[PageParams]):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = schedules_with_cycles_for_shop(shop=shop)
    return paginate(qs, page, lambda rows: [schedule_out(s) for s in rows])


@router.get("/schedules/{int:schedule_id}", response={200: ScheduleOut, **READ_ERRORS})
def get_schedule(request: ApiRequest, schedule_id: int):
    return schedule_out(schedule_for_manager(user=request.auth, schedule_id=schedule_id))


@router.patch("/schedules/{int:schedule_id}", response={200: ScheduleOut, **WRITE_ERRORS})
def update_schedule(request: ApiRequest, schedule_id: int, payload: SchedulePatch):
    schedule = schedule_for_manager(user=request.auth, schedule_id=schedule_id)
    changes = payload.dict(exclude_unset=True)
    scheduling.schedule_update(schedule=schedule, changes=changes)
    return schedule_out(schedule_for_manager(user=request.auth, schedule_id=schedule_id))


@router.delete("/schedules/{int:schedule_id}", response={204: None, **WRITE_ERRORS})
def delete_schedule(request: ApiRequest, schedule_id: int):
    """Delete a schedule; 409 while subscriptions use it."""
    schedule = schedule_for_manager(user=request.auth, schedule_id=schedule_id)
    scheduling.schedule_delete(schedule=schedule)
    return Status(204, None)
