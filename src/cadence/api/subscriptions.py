"""Subscriptions of a shop, their proxy orders, and skipping or resuming one delivery."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, aware, local, money
from cadence.api.inputs import (
    UNSET,
    AddressIn,
    Id,
    In,
    IsoDate,
    IsoDateTime,
    Quantity,
    QueryId,
    QueryText,
)
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.enterprises.selectors import enterprise_for_manager
from cadence.subscriptions.domain import Estimate
from cadence.subscriptions.models import ProxyOrder, Subscription
from cadence.subscriptions.selectors import (
    line_item_available,
    proxy_order_for_manager,
    proxy_order_get,
    proxy_orders_of,
    subscription_detail,
    subscription_for_manager,
    subscription_status,
    subscriptions_estimates,
    subscriptions_for_shop,
)
from cadence.subscriptions.services import lifecycle

router = Router(tags=["subscriptions"])

StatusName = Literal["active", "pending", "paused", "ended", "canceled"]
OpenOrders = Literal["keep", "cancel"]


class LineIn(In):
    variant_id: Id
    quantity: Quantity


class SubscriptionIn(In):
    customer_id: Id
    schedule_id: Id
    payment_method_id: Id
    shipping_method_id: Id
    begins_at: IsoDateTime
    ends_at: IsoDateTime | None = None
    bill_address: AddressIn | None = None
    ship_address: AddressIn | None = None
    line_items: list[LineIn] = Field(..., min_length=1)


class SubscriptionPatch(In):
    # customer_id and schedule_id are accepted only to answer 422 when they differ: they are
    # fixed at creation.
    customer_id: Id = UNSET
    schedule_id: Id = UNSET
    payment_method_id: Id = UNSET
    shipping_method_id: Id = UNSET
    begins_at: IsoDateTime = UNSET
    ends_at: IsoDateTime | None = None
    bill_address: AddressIn = UNSET
    ship_address: AddressIn = UNSET
    line_items: list[LineIn] = Field(UNSET, min_length=1)


class PauseIn(In):
    open_orders: OpenOrders | None = None
    resume_on: IsoDate | None = None


class CancelIn(In):
    open_orders: OpenOrders | None = None


class LineOut(Schema):
    id: int
    variant_id: int
    quantity: int
    price_estimate: str | None
    available: bool


class Estimates(Schema):
    items: str
    fees: str
    total: str


class SubscriptionOut(Schema):
    id: int
    shop_id: int
    status: str
    customer_id: int
    schedule_id: int
    payment_method_id: int
    shipping_method_id: int
    begins_at: datetime
    ends_at: datetime | None
    paused_at: datetime | None
    resume_on: date | None
    canceled_at: datetime | None
    bill_address: dict[str, Any] | None
    ship_address: dict[str, Any] | None
    line_items: list[LineOut]
    estimates: Estimates


class SubscriptionUpdated(SubscriptionOut):
    order_update_issues: list[dict[str, Any]]


class SubscriptionListItem(Schema):
    id: int
    status: str
    customer_id: int
    customer_email: str
    customer_name: str
    schedule_id: int
    begins_at: datetime
    ends_at: datetime | None
    estimates: Estimates


class SubscriptionFilters(PageParams):
    status: StatusName | None = None
    q: QueryText | None = None
    schedule_id: QueryId | None = None


class ProxyOrderOut(Schema):
    id: int
    subscription_id: int
    order_cycle_id: int
    state: str
    order_id: int | None
    reason: str


SubscriptionPage = page_schema(SubscriptionListItem, "SubscriptionPage")


def _estimates(est: Estimate) -> dict:
    return {"items": money(est.items), "fees": money(est.fees), "total": money(est.total)}


def subscription_out(subscription: Subscription, *, now=None) -> dict:
    """The detail answer. `subscription` should come from `subscription_detail` (relations
    loaded)."""
    now = now or timezone.now()
    shop = subscription.shop
    available = line_item_available(subscription, now=now)
    est = subscriptions_estimates([subscription], now=now)[subscription.pk]
    return {
        "id": subscription.pk,
        "shop_id": subscription.shop_id,
        "status": subscription_status(subscription, now=now),
        "customer_id": subscription.customer_id,
        "schedule_id": subscription.schedule_id,
        "payment_method_id": subscription.payment_method_id,
        "shipping_method_id": subscription.shipping_method_id,
        "begins_at": local(subscription.begins_at, shop),
        "ends_at": local(subscription.ends_at, shop),
        "paused_at": local(subscription.paused_at, shop),
        "resume_on": subscription.resume_on,
        "canceled_at": local(subscription.canceled_at, shop),
        "bill_address": subscription.bill_address,
        "ship_address": subscription.ship_address,
        "line_items": [
            {
                "id": line.pk,
                "variant_id": line.variant_id,
                "quantity": line.quantity,
                # What the placed order's line will cost (the variant's current price).
                "price_estimate": money(line.variant.price),
                "available": available.get(line.pk, False),
            }
            for line in subscription.line_items.all()
        ],
        "estimates": _estimates(est),
    }


def proxy_order_out(proxy: ProxyOrder) -> dict:
    return {
        "id": proxy.pk,
        "subscription_id": proxy.subscription_id,
        "order_cycle_id": proxy.order_cycle_id,
        "state": proxy.state,
        "order_id": proxy.order_id,
        "reason": proxy.reason,
    }


def _detail(subscription_id: int) -> Subscription:
    # Re-read after a write so the answer shows what was stored (lines, estimates).
    return subscription_detail(subscription_id=subscription_id)


@router.post(
    "/enterprises/{int:enterprise_id}/subscriptions",
    response={201: SubscriptionOut, **WRITE_ERRORS},
)
def create_subscription(request: ApiRequest, enterprise_id: int, payload: SubscriptionIn):
    """Create a subscription; addresses default to the customer's, datetimes without an
    offset are in the shop's time zone."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    values = payload.dict()
    values["begins_at"] = aware(values["begins_at"], shop)
    values["ends_at"] = aware(values["ends_at"], shop)
    subscription = lifecycle.subscription_create(shop=shop, actor=request.auth, **values)
    return Status(201, subscription_out(_detail(subscription.pk)))


@router.get(
    "/enterprises/{int:enterprise_id}/subscriptions",
    response={200: SubscriptionPage, **READ_ERRORS},
)
def list_subscriptions(
    request: ApiRequest, enterprise_id: int, filters: Query[SubscriptionFilters]
):
    """Filter by derived `status`, by customer email or name (`q`), by `schedule_id`."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    now = timezone.now()
    qs = subscriptions_for_shop(
        shop=shop, status=filters.status, q=filters.q, schedule_id=filters.schedule_id, now=now
    )

    def render(rows):
        rows = list(rows)
        estimates = subscriptions_estimates(rows, now=now)
        return [
            {
                "id": s.pk,
                "status": subscription_status(s, now=now),
                "customer_id": s.customer_id,
                "customer_email": s.customer.email,
                "customer_name": s.customer.full_name,
                "schedule_id": s.schedule_id,
                "begins_at": local(s.begins_at, shop),
                "ends_at": local(s.ends_at, shop),
                "estimates": _estimates(estimates[s.pk]),
            }
            for s in rows
        ]

    return paginate(qs, filters, render)


@router.get("/subscriptions/{int:subscription_id}", response={200: SubscriptionOut, **READ_ERRORS})
def get_subscription(request: ApiRequest, subscription_id: int):
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    return subscription_out(_detail(subscription.pk))


@router.patch(
    "/subscriptions/{int:subscription_id}", response={200: SubscriptionUpdated, **WRITE_ERRORS}
)
def update_subscription(request: ApiRequest, subscription_id: int, payload: SubscriptionPatch):
    """Change any editable field; `line_items` replaces the list. The answer lists the placed
    orders the change could not be carried to (`order_update_issues`)."""
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    changes = payload.dict(exclude_unset=True)
    for field in ("begins_at", "ends_at"):
        if field in changes:
            changes[field] = aware(changes[field], subscription.shop)
    _sub, issues = lifecycle.subscription_update(
        subscription=subscription, changes=changes, actor=request.auth
    )
    return {**subscription_out(_detail(subscription.pk)), "order_update_issues": issues}


@router.post(
    "/subscriptions/{int:subscription_id}/pause", response={200: SubscriptionOut, **WRITE_ERRORS}
)
def pause_subscription(request: ApiRequest, subscription_id: int, payload: PauseIn | None = None):
    """Stop placements; `open_orders` says whether orders already placed in open cycles are
    kept or canceled (409 when there are some and it is missing). The body is optional: a
    request without one is a pause with nothing to say about open orders."""
    payload = payload or PauseIn()
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    lifecycle.subscription_pause(
        subscription=subscription,
        open_orders=payload.open_orders,
        resume_on=payload.resume_on,
        actor=request.auth,
    )
    return subscription_out(_detail(subscription.pk))


@router.post(
    "/subscriptions/{int:subscription_id}/unpause",
    response={200: SubscriptionUpdated, **WRITE_ERRORS},
)
def unpause_subscription(request: ApiRequest, subscription_id: int):
    """Resume placements; during an open cycle the order is placed at once."""
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    _sub, issues = lifecycle.subscription_unpause(subscription=subscription, actor=request.auth)
    return {**subscription_out(_detail(subscription.pk)), "order_update_issues": issues}


@router.post(
    "/subscriptions/{int:subscription_id}/cancel", response={200: SubscriptionOut, **WRITE_ERRORS}
)
def cancel_subscription(request: ApiRequest, subscription_id: int, payload: CancelIn | None = None):
    """Cancel for good; `open_orders` as for pause (409 when needed and missing). The body
    is optional."""
    payload = payload or CancelIn()
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    lifecycle.subscription_cancel(
        subscription=subscription, open_orders=payload.open_orders, actor=request.auth
    )
    return subscription_out(_detail(subscription.pk))


@router.get(
    "/subscriptions/{int:subscription_id}/proxy-orders",
    response={200: list[ProxyOrderOut], **READ_ERRORS},
)
def list_proxy_orders(request: ApiRequest, subscription_id: int):
    """One row per order cycle of the subscription, in the order the cycles close. A plain
    array, as api.md shows: a subscription has at most one row per cycle of its schedule."""
    subscription = subscription_for_manager(user=request.auth, subscription_id=subscription_id)
    return [proxy_order_out(p) for p in proxy_orders_of(subscription=subscription)]


@router.post(
    "/proxy-orders/{int:proxy_order_id}/cancel", response={200: ProxyOrderOut, **WRITE_ERRORS}
)
def cancel_proxy_order(request: ApiRequest, proxy_order_id: int):
    """Skip one delivery (409 once its cycle has closed)."""
    proxy = proxy_order_for_manager(user=request.auth, proxy_order_id=proxy_order_id)
    lifecycle.proxy_order_cancel(proxy_order=proxy, actor=request.auth)
    return proxy_order_out(proxy_order_get(proxy_order_id=proxy.pk))


@router.post(
    "/proxy-orders/{int:proxy_order_id}/resume", response={200: ProxyOrderOut, **WRITE_ERRORS}
)
def resume_proxy_order(request: ApiRequest, proxy_order_id: int):
    """Re-instate a skipped delivery (409 once its cycle has closed)."""
    proxy = proxy_order_for_manager(user=request.auth, proxy_order_id=proxy_order_id)
    lifecycle.proxy_order_resume(proxy_order=proxy, actor=request.auth)
    return proxy_order_out(proxy_order_get(proxy_order_id=proxy.pk))
