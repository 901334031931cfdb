"""A shop's customer list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS, local
from cadence.api.inputs import UNSET, AddressIn, In, QueryText, Text
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.customers import services
from cadence.customers.models import Customer
from cadence.customers.selectors import (
    customer_for_manager,
    customers_with_shop_for_shop,
)
from cadence.enterprises.selectors import enterprise_for_manager

router = Router(tags=["customers"])


class CustomerIn(In):
    email: Text = Field(..., max_length=254)
    first_name: Text = Field("", max_length=100)
    last_name: Text = Field("", max_length=100)
    phone: Text = Field("", max_length=50)
    code: Text = Field("", max_length=50)
    tags: Text = Field("", max_length=200)
    language: Literal["en", "fr"] = "en"
    bill_address: AddressIn | None = None
    ship_address: AddressIn | None = None


class CustomerPatch(In):
    email: Text = Field(UNSET, max_length=254)
    first_name: Text = Field(UNSET, max_length=100)
    last_name: Text = Field(UNSET, max_length=100)
    phone: Text = Field(UNSET, max_length=50)
    code: Text = Field(UNSET, max_length=50)
    tags: Text = Field(UNSET, max_length=200)
    language: Literal["en", "fr"] = UNSET
    bill_address: AddressIn | None = None
    ship_address: AddressIn | None = None


class CustomerOut(Schema):
    id: int
    shop_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    code: str
    tags: str
    language: str
    has_account: bool
    bill_address: dict[str, Any] | None
    ship_address: dict[str, Any] | None
    created_at: datetime


class CustomerFilters(PageParams):
    q: QueryText | None = None


CustomerPage = page_schema(CustomerOut, "CustomerPage")


def customer_out(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "shop_id": customer.shop_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "code": customer.code,
        "tags": customer.tags,
        "language": customer.language,
        "has_account": customer.user_id is not None,
        "bill_address": customer.bill_address,
        "ship_address": customer.ship_address,
        "created_at": local(customer.created_at, customer.shop),
    }


@router.post(
    "/enterprises/{int:enterprise_id}/customers", response={201: CustomerOut, **WRITE_ERRORS}
)
def create_customer(request: ApiRequest, enterprise_id: int, payload: CustomerIn):
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    return Status(201, customer_out(services.customer_create(shop=shop, **payload.dict())))


@router.get(
    "/enterprises/{int:enterprise_id}/customers", response={200: CustomerPage, **READ_ERRORS}
)
def list_customers(request: ApiRequest, enterprise_id: int, filters: Query[CustomerFilters]):
    """The shop's customers; `q` matches email, name or code."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    qs = customers_with_shop_for_shop(shop=shop, q=filters.q)
    return paginate(qs, filters, lambda rows: [customer_out(c) for c in rows])


@router.get("/customers/{int:customer_id}", response={200: CustomerOut, **READ_ERRORS})
def get_customer(request: ApiRequest, customer_id: int):
    return customer_out(customer_for_manager(user=request.auth, customer_id=customer_id))


@router.patch("/customers/{int:customer_id}", response={200: CustomerOut, **WRITE_ERRORS})
def update_customer(request: ApiRequest, customer_id: int, payload: CustomerPatch):
    customer = customer_for_manager(user=request.auth, customer_id=customer_id)
    changes = payload.dict(exclude_unset=True)
    return customer_out(services.customer_update(customer=customer, changes=changes))


@router.delete("/customers/{int:customer_id}", response={204: None, **WRITE_ERRORS})
def delete_customer(request: ApiRequest, customer_id: int):
    """Remove a customer; 409 while a subscription is active, paused or pending. One that
    orders or past subscriptions refer to is kept for them but no longer found (404)."""
    customer = customer_for_manager(user=request.auth, customer_id=customer_id)
    services.customer_delete(customer=customer)
    return Status(204, None)
