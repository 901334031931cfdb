"""Orders of a shop (placed from subscriptions), read-only through the API."""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ObjectDoesNotExist
from ninja import Query, Router, Schema

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, money
from cadence.api.inputs import QueryId
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.enterprises.selectors import enterprise_for_manager
from cadence.orders.models import Order
from cadence.orders.selectors import order_for_manager, order_with_details, orders_of_shop

router = Router(tags=["orders"])

State = Literal["complete", "canceled", "confirmed"]


class OrderLineOut(Schema):
    variant_id: int
    quantity: int
    requested_quantity: int
    price: str


class PaymentOut(Schema):
    id: int
    method_id: int
    amount: str
    state: str
    error: str


class OrderOut(Schema):
    id: int
    number: str
    state: str
    order_cycle_id: int
    customer_id: int
    subscription_id: int | None
    line_items: list[OrderLineOut]
    item_total: str
    fee_total: str
    total: str
    payment_state: str
    payments: list[PaymentOut]


class OrderFilters(PageParams):
    order_cycle_id: QueryId | None = None
    state: State | None = None


OrderPage = page_schema(OrderOut, "OrderPage")


def _subscription_id(order: Order) -> int | None:
    try:
        return order.proxy_order.subscription_id
    except ObjectDoesNotExist:
        return None


def order_out(order: Order) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "state": order.state,
        "order_cycle_id": order.order_cycle_id,
        "customer_id": order.customer_id,
        "subscription_id": _subscription_id(order),
        "line_items": [
            {
                "variant_id": li.variant_id,
                "quantity": li.quantity,
                "requested_quantity": li.requested_quantity,
                "price": money(li.price),
            }
            for li in order.line_items.all()
        ],
        "item_total": money(order.item_total),
        "fee_total": money(order.fee_total),
        "total": money(order.total),
        "payment_state": order.payment_state,
        "payments": [
            {
                "id": p.pk,
                "method_id": p.method_id,
                "amount": money(p.amount),
                "state": p.state,
                "error": p.error,
            }
            for p in order.payments.all()
        ],
    }


@router.get("/orders/{int:order_id}", response={200: OrderOut, **READ_ERRORS})
def get_order(request: ApiRequest, order_id: int):
    order = order_for_manager(user=request.auth, order_id=order_id)
    return order_out(order_with_details(order_id=order.pk))


@router.get("/enterprises/{int:enterprise_id}/orders", response={200: OrderPage, **READ_ERRORS})
def list_orders(request: ApiRequest, enterprise_id: int, filters: Query[OrderFilters]):
    """The shop's orders, newest first, filtered by `order_cycle_id` and `state`."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = orders_of_shop(shop=shop, order_cycle_id=filters.order_cycle_id, state=filters.state)
    return paginate(qs, filters, lambda rows: [order_out(o) for o in rows])
