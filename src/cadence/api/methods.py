"""A shop's payment and shipping methods."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, money
from cadence.api.inputs import DESCRIPTION_LENGTH, UNSET, Flag, In, Money, Percent, Text
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.enterprises.selectors import enterprise_for_manager
from cadence.orders.models import ShippingMethod
from cadence.orders.selectors import shipping_method_for_manager, shipping_methods_for_shop
from cadence.orders.services import shipping_method_create, shipping_method_update
from cadence.payments.models import PaymentMethod
from cadence.payments.selectors import payment_method_for_manager, payment_methods_for_shop
from cadence.payments.services import payment_method_create, payment_method_update

router = Router(tags=["payment and shipping methods"])

Kind = Literal["manual", "stripe", "other"]


class ShippingMethodIn(In):
    name: Text = Field(..., max_length=200)
    description: Text = Field("", max_length=DESCRIPTION_LENGTH)
    fee: Money = Decimal("0")
    requires_address: Flag = True


class ShippingMethodPatch(In):
    name: Text = Field(UNSET, max_length=200)
    description: Text = Field(UNSET, max_length=DESCRIPTION_LENGTH)
    fee: Money = UNSET
    requires_address: Flag = UNSET
    active: Flag = UNSET


class ShippingMethodOut(Schema):
    id: int
    name: str
    description: str
    fee: str
    requires_address: bool
    active: bool


class PaymentMethodIn(In):
    name: Text = Field(..., max_length=200)
    description: Text = Field("", max_length=DESCRIPTION_LENGTH)
    kind: Kind
    fee: Money = Decimal("0")
    fee_percent: Percent = Decimal("0")
    stripe_account: Text = Field("", max_length=100)


class PaymentMethodPatch(In):
    name: Text = Field(UNSET, max_length=200)
    description: Text = Field(UNSET, max_length=DESCRIPTION_LENGTH)
    fee: Money = UNSET
    fee_percent: Percent = UNSET
    stripe_account: Text = Field(UNSET, max_length=100)
    active: Flag = UNSET


class PaymentMethodOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    fee: str
    fee_percent: str
    stripe_account: str
    active: bool


ShippingMethodPage = page_schema(ShippingMethodOut, "ShippingMethodPage")
PaymentMethodPage = page_schema(PaymentMethodOut, "PaymentMethodPage")


def shipping_method_out(method: ShippingMethod) -> dict:
    return {
        "id": method.pk,
        "name": method.name,
        "description": method.description,
        "fee": money(method.fee),
        "requires_address": method.requires_address,
        "active": method.active,
    }


def payment_method_out(method: PaymentMethod) -> dict:
    return {
        "id": method.pk,
        "name": method.name,
        "description": method.description,
        "kind": method.kind,
        "fee": money(method.fee),
        "fee_percent": f"{Decimal(method.fee_percent).normalize():f}",
        "stripe_account": method.stripe_account,
        "active": method.active,
    }


@router.post(
    "/enterprises/{int:enterprise_id}/shipping-methods",
    response={201: ShippingMethodOut, **WRITE_ERRORS},
)
def create_shipping_method(request: ApiRequest, enterprise_id: int, payload: ShippingMethodIn):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    return Status(201, shipping_method_out(shipping_method_create(shop=shop, **payload.dict())))


@router.get(
    "/enterprises/{int:enterprise_id}/shipping-methods",
    response={200: ShippingMethodPage, **READ_ERRORS},
)
def list_shipping_methods(request: ApiRequest, enterprise_id: int, page: Query[PageParams]):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = shipping_methods_for_shop(shop=shop)
    return paginate(qs, page, lambda rows: [shipping_method_out(m) for m in rows])


@router.patch(
    "/shipping-methods/{int:method_id}", response={200: ShippingMethodOut, **WRITE_ERRORS}
)
def update_shipping_method(request: ApiRequest, method_id: int, payload: ShippingMethodPatch):
    method = shipping_method_for_manager(user=request.auth, shipping_method_id=method_id)
    changes = payload.dict(exclude_unset=True)
    return shipping_method_out(shipping_method_update(shipping_method=method, changes=changes))


@router.post(
    "/enterprises/{int:enterprise_id}/payment-methods",
    response={201: PaymentMethodOut, **WRITE_ERRORS},
)
def create_payment_method(request: ApiRequest, enterprise_id: int, payload: PaymentMethodIn):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    return Status(201, payment_method_out(payment_method_create(shop=shop, **payload.dict())))


@router.get(
    "/enterprises/{int:enterprise_id}/payment-methods",
    response={200: PaymentMethodPage, **READ_ERRORS},
)
def list_payment_methods(request: ApiRequest, enterprise_id: int, page: Query[PageParams]):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = payment_methods_for_shop(shop=shop)
    return paginate(qs, page, lambda rows: [payment_method_out(m) for m in rows])


@router.patch("/payment-methods/{int:method_id}", response={200: PaymentMethodOut, **WRITE_ERRORS})
def update_payment_method(request: ApiRequest, method_id: int, payload: PaymentMethodPatch):
    method = payment_method_for_manager(user=request.auth, payment_method_id=method_id)
    changes = payload.dict(exclude_unset=True)
    return payment_method_out(payment_method_update(payment_method=method, changes=changes))
