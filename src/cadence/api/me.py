"""The buyer's API (/api/v1/me/…): saved cards, per-shop consent, their orders and deliveries.

A buyer is whoever the bearer token belongs to; they reach the shops whose customer list has
them (linked account or same email) and the orders and subscriptions of those customer rows.
Anything else answers 404, like something that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, local, money
from cadence.api.inputs import Flag, Id, In, QuantityOrZero, Text
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.enterprises.models import Enterprise
from cadence.errors import NotFound
from cadence.orders.models import Order
from cadence.payments import cards
from cadence.payments.models import SavedCard
from cadence.payments.selectors import (
    saved_card_of,
    saved_cards_of,
    shop_ids_allowed_to_charge,
    shop_of_buyer,
)
from cadence.subscriptions.buyer_selectors import (
    buyer_order_get,
    buyer_orders,
    buyer_subscriptions,
    changes_allowed_until,
    delivery_changes_allowed,
)
from cadence.subscriptions.models import Subscription
from cadence.subscriptions.selectors import proxy_order_get, subscription_status
from cadence.subscriptions.services import buyer

router = Router(tags=["buyer"])


# --- cards and consent ---------------------------------------------------------------------


class CardIn(In):
    stripe_payment_method_id: Text = Field(..., max_length=100)
    # The SetupIntent Stripe.js confirmed in a page; without it one is confirmed here.
    setup_intent_id: Text = Field("", max_length=100)


class CardOut(Schema):
    id: int
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    is_default: bool


def _card_out(card: SavedCard) -> dict:
    return {
        "id": card.pk,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "is_default": card.is_default,
    }


@router.get("/cards", response={200: list[CardOut], **READ_ERRORS})
def list_cards(request: ApiRequest):
    return [_card_out(c) for c in saved_cards_of(request.auth)]


@router.post("/cards", response={201: CardOut, **WRITE_ERRORS})
def save_card(request: ApiRequest, payload: CardIn):
    """Save a card made by Stripe.js (or the SDK); the first card becomes the default."""
    card = cards.card_save(
        user=request.auth,
        stripe_payment_method_id=payload.stripe_payment_method_id,
        setup_intent_id=payload.setup_intent_id,
    )
    return Status(201, _card_out(card))


def _own_card(request: ApiRequest, card_id: int) -> SavedCard:
    card = saved_card_of(user=request.auth, card_id=card_id)
    if card is None:
        raise Http404
    return card


@router.post("/cards/{int:card_id}/default", response={200: CardOut, **WRITE_ERRORS})
def make_default(request: ApiRequest, card_id: int):
    """Make a card the default: every shop's allow_charges is withdrawn."""
    card = cards.card_set_default(user=request.auth, card=_own_card(request, card_id))
    return _card_out(card)


@router.delete("/cards/{int:card_id}", response={204: None, **WRITE_ERRORS})
def delete_card(request: ApiRequest, card_id: int):
    """Delete a card; deleting the default withdraws every shop's allow_charges."""
    cards.card_delete(user=request.auth, card=_own_card(request, card_id))
    return Status(204, None)


class ShopOut(Schema):
    shop_id: int
    name: str
    allow_charges: bool
    consent_text: str
    allow_order_changes: bool


class ShopPatch(In):
    allow_charges: Flag


def _shop_out(shop: Enterprise, allowed: bool) -> dict:
    return {
        "shop_id": shop.pk,
        "name": shop.name,
        "allow_charges": allowed,
        "consent_text": cards.consent_text(shop),
        "allow_order_changes": shop.allow_order_changes,
    }


@router.get("/shops", response={200: list[ShopOut], **READ_ERRORS})
def list_shops(request: ApiRequest):
    """Shops whose customer list has the buyer's email."""
    live = shop_ids_allowed_to_charge(request.auth)
    return [_shop_out(s, s.pk in live) for s in cards.shops_of_buyer(request.auth)]


@router.patch("/shops/{int:shop_id}", response={200: ShopOut, **WRITE_ERRORS})
def update_shop(request: ApiRequest, shop_id: int, payload: ShopPatch):
    """Give or withdraw allow_charges (422 without a default card; 404 for a shop whose
    customer list does not have the buyer: it is not one of their shops)."""
    shop = shop_of_buyer(user=request.auth, shop_id=shop_id)
    if shop is None:
        # Like a shop that does not exist, and without its name: ids reveal nothing.
        raise NotFound(_("This shop does not have you as a customer."))
    consent = cards.consent_set(user=request.auth, shop=shop, allow=payload.allow_charges)
    return _shop_out(shop, consent is not None)


# --- orders --------------------------------------------------------------------------------


class MyLineOut(Schema):
    id: int
    variant_id: int
    name: str
    quantity: int
    requested_quantity: int
    price: str


class MyOrderOut(Schema):
    id: int
    number: str
    shop_id: int
    shop_name: str
    order_cycle_id: int
    order_cycle_name: str
    state: str
    payment_state: str
    line_items: list[MyLineOut]
    item_total: str
    fee_total: str
    total: str
    placed_at: datetime | None
    changes_allowed_until: datetime | None


MyOrderPage = page_schema(MyOrderOut, "MyOrderPage")


def _order_out(order: Order) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "shop_id": order.shop_id,
        "shop_name": order.shop.name,
        "order_cycle_id": order.order_cycle_id,
        "order_cycle_name": order.order_cycle.name,
        "state": order.state,
        "payment_state": order.payment_state,
        "line_items": [
            {
                "id": li.pk,
                "variant_id": li.variant_id,
                "name": li.variant.full_name,
                "quantity": li.quantity,
                "requested_quantity": li.requested_quantity,
                "price": money(li.price),
            }
            for li in order.line_items.all()
        ],
        "item_total": money(order.item_total),
        "fee_total": money(order.fee_total),
        "total": money(order.total),
        "placed_at": local(order.placed_at, order.shop),
        "changes_allowed_until": local(changes_allowed_until(order), order.shop),
    }


@router.get("/orders", response={200: MyOrderPage, **READ_ERRORS})
def list_orders(request: ApiRequest, page: Query[PageParams]):
    """The buyer's orders, newest first."""
    return paginate(buyer_orders(request.auth), page, lambda rows: [_order_out(o) for o in rows])


class LineChange(In):
    variant_id: Id
    # 0 removes the line.
    quantity: QuantityOrZero


class OrderPatch(In):
    line_items: list[LineChange]


@router.patch("/orders/{int:order_id}", response={200: MyOrderOut, **WRITE_ERRORS})
def update_order(request: ApiRequest, order_id: int, payload: OrderPatch):
    """Lower quantities or remove lines (quantity 0) of an order still open to changes."""
    order = buyer.buyer_order_update(
        user=request.auth,
        order_id=order_id,
        line_items=[(c.variant_id, c.quantity) for c in payload.line_items],
    )
    return _order_out(buyer_order_get(user=request.auth, order_id=order.pk))


@router.post("/orders/{int:order_id}/cancel", response={200: MyOrderOut, **WRITE_ERRORS})
def cancel_order(request: ApiRequest, order_id: int):
    """Cancel an order still open to changes (its stock is released, its payment voided)."""
    order = buyer.buyer_order_cancel(user=request.auth, order_id=order_id)
    return _order_out(buyer_order_get(user=request.auth, order_id=order.pk))


# --- subscriptions and deliveries ----------------------------------------------------------


class MyDeliveryOut(Schema):
    id: int
    order_cycle_id: int
    order_cycle_name: str
    closes_at: datetime
    state: str
    order_id: int | None
    reason: str
    changes_allowed: bool


class MySubscriptionOut(Schema):
    id: int
    shop_id: int
    shop_name: str
    schedule_name: str
    status: str
    begins_at: datetime
    ends_at: datetime | None
    line_items: list[dict]
    deliveries: list[MyDeliveryOut]


MySubscriptionPage = page_schema(MySubscriptionOut, "MySubscriptionPage")


def _subscription_out(subscription: Subscription, now: datetime) -> dict:
    shop = subscription.shop
    return {
        "id": subscription.pk,
        "shop_id": shop.pk,
        "shop_name": shop.name,
        "schedule_name": subscription.schedule.name,
        "status": subscription_status(subscription, now=now),
        "begins_at": local(subscription.begins_at, shop),
        "ends_at": local(subscription.ends_at, shop),
        "line_items": [
            {"variant_id": li.variant_id, "name": li.variant.full_name, "quantity": li.quantity}
            for li in subscription.line_items.all()
        ],
        "deliveries": [
            {
                "id": p.pk,
                "order_cycle_id": p.order_cycle_id,
                "order_cycle_name": p.order_cycle.name,
                "closes_at": local(p.order_cycle.closes_at, shop),
                "state": p.state,
                "order_id": p.order_id,
                "reason": p.reason,
                "changes_allowed": delivery_changes_allowed(p, shop=shop, now=now),
            }
            for p in subscription.proxy_orders.all()
        ],
    }


@router.get("/subscriptions", response={200: MySubscriptionPage, **READ_ERRORS})
def list_subscriptions(request: ApiRequest, page: Query[PageParams]):
    """The buyer's subscriptions with their deliveries (proxy orders)."""
    now = timezone.now()
    return paginate(
        buyer_subscriptions(request.auth),
        page,
        lambda rows: [_subscription_out(s, now) for s in rows],
    )


class MyProxyOrderOut(Schema):
    id: int
    order_cycle_id: int
    state: str
    order_id: int | None
    reason: str


def _proxy_out(proxy_id: int) -> dict:
    p = proxy_order_get(proxy_order_id=proxy_id)
    return {
        "id": p.pk,
        "order_cycle_id": p.order_cycle_id,
        "state": p.state,
        "order_id": p.order_id,
        "reason": p.reason,
    }


@router.post(
    "/proxy-orders/{int:proxy_order_id}/cancel", response={200: MyProxyOrderOut, **WRITE_ERRORS}
)
def skip_delivery(request: ApiRequest, proxy_order_id: int):
    """Skip one delivery where the shop allows changes (409 once its cycle has closed)."""
    proxy = buyer.buyer_delivery_skip(user=request.auth, proxy_order_id=proxy_order_id)
    return _proxy_out(proxy.pk)


@router.post(
    "/proxy-orders/{int:proxy_order_id}/resume", response={200: MyProxyOrderOut, **WRITE_ERRORS}
)
def resume_delivery(request: ApiRequest, proxy_order_id: int):
    """Resume a skipped delivery where the shop allows changes (409 once its cycle closed)."""
    proxy = buyer.buyer_delivery_resume(user=request.auth, proxy_order_id=proxy_order_id)
    return _proxy_out(proxy.pk)
