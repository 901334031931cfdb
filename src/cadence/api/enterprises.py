"""Enterprises: creation (staff), settings, managers and supplier permissions."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from cadence.api.auth import ApiRequest
from cadence.api.common import READ_ERRORS, WRITE_ERRORS
from cadence.api.inputs import UNSET, Flag, Id, In, Text, TimeZoneName
from cadence.api.pagination import PageParams, page_schema, paginate
from cadence.enterprises import services
from cadence.enterprises.selectors import (
    enterprise_by_id,
    enterprise_for_manager,
    enterprises_for_user_by_name,
)
from cadence.errors import PermissionDenied, ValidationFailed

router = Router(tags=["enterprises"])

Policy = Literal["first_come", "fair_share"]
# The language of the shop's own emails (placement and confirmation summaries).
ShopLanguage = Literal["en", "fr"]


# The schema checks `timezone` is a known zone, so that a bad zone and a bad currency are
# named together; the service still checks both (three letters for the currency).
class EnterpriseIn(In):
    name: Text = Field(..., max_length=200)
    is_shop: Flag = True
    is_producer: Flag = False
    contact_email: Text = Field("", max_length=254)
    timezone: TimeZoneName = "Europe/Paris"
    currency: Text = Field("EUR", max_length=3)


class EnterprisePatch(In):
    name: Text = Field(UNSET, max_length=200)
    contact_email: Text = Field(UNSET, max_length=254)
    timezone: TimeZoneName = UNSET
    currency: Text = Field(UNSET, max_length=3)
    enable_subscriptions: Flag = UNSET
    allow_order_changes: Flag = UNSET
    allow_self_subscribe: Flag = UNSET
    send_subscription_emails: Flag = UNSET
    allocation_policy: Policy = UNSET
    language: ShopLanguage = UNSET


class EnterpriseOut(Schema):
    id: int
    name: str
    is_shop: bool
    is_producer: bool
    contact_email: str
    timezone: str
    currency: str
    enable_subscriptions: bool
    allow_order_changes: bool
    allow_self_subscribe: bool
    send_subscription_emails: bool
    allocation_policy: str
    language: str


class ManagerIn(In):
    email: Text = Field(..., max_length=254)


class ManagerOut(Schema):
    user_id: int
    email: str
    created: bool


class SupplierIn(In):
    producer_id: Id


class SupplierOut(Schema):
    shop_id: int
    producer_id: int


EnterprisePage = page_schema(EnterpriseOut, "EnterprisePage")


@router.post("/enterprises", response={201: EnterpriseOut, **WRITE_ERRORS})
def create_enterprise(request: ApiRequest, payload: EnterpriseIn):
    """Create a shop and/or producer (staff only)."""
    if not request.auth.is_staff:
        raise PermissionDenied(_("Only operators can create enterprises."))
    return Status(201, services.enterprise_create(**payload.dict()))


@router.get("/enterprises", response={200: EnterprisePage, **READ_ERRORS})
def list_enterprises(request: ApiRequest, page: Query[PageParams]):
    """The enterprises you manage (all of them for staff)."""
    return paginate(enterprises_for_user_by_name(request.auth), page, list)


@router.get("/enterprises/{int:enterprise_id}", response={200: EnterpriseOut, **READ_ERRORS})
def get_enterprise(request: ApiRequest, enterprise_id: int):
    return enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)


@router.patch("/enterprises/{int:enterprise_id}", response={200: EnterpriseOut, **WRITE_ERRORS})
def update_enterprise(request: ApiRequest, enterprise_id: int, payload: EnterprisePatch):
    enterprise = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    return services.enterprise_update(
        enterprise=enterprise, changes=payload.dict(exclude_unset=True)
    )


@router.post(
    "/enterprises/{int:enterprise_id}/managers", response={201: ManagerOut, **WRITE_ERRORS}
)
def add_manager(request: ApiRequest, enterprise_id: int, payload: ManagerIn):
    """Add a manager by email, creating the user account when there is none."""
    enterprise = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    user, created = services.enterprise_manager_add(enterprise=enterprise, email=payload.email)
    return Status(201, {"user_id": user.pk, "email": user.email, "created": created})


@router.post(
    "/enterprises/{int:enterprise_id}/suppliers", response={201: SupplierOut, **WRITE_ERRORS}
)
def add_supplier(request: ApiRequest, enterprise_id: int, payload: SupplierIn):
    """Let this shop sell a producer's variants.

    Staff, or a manager of both the shop and the producer. A manager of the shop only gets
    403: the producer is a public enterprise, but the permission is the producer's to give.
    An unknown producer id is invalid input (422)."""
    shop = enterprise_for_manager(user=request.auth, enterprise_id=enterprise_id)
    producer = enterprise_by_id(payload.producer_id)
    if producer is None:
        raise ValidationFailed({"producer_id": [_("no enterprise has this id")]})
    permission = services.enterprise_supplier_add(shop=shop, producer=producer, actor=request.auth)
    return Status(201, {"shop_id": permission.shop_id, "producer_id": permission.producer_id})
