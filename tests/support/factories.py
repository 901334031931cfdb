"""Factories for tests: plain functions that create rows with believable defaults."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from cadence.catalog.models import Product, Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
from cadence.enterprises.models import Enterprise, SupplierPermission
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import Subscription

_seq = itertools.count(1)


def address(**overrides) -> dict:
    data = {
        "first_name": "Camille",
        "last_name": "Martin",
        "address1": "12 rue des Lilas",
        "address2": "",
        "city": "Lyon",
        "postcode": "69003",
        "country": "FR",
        "phone": "0601020304",
    }
    data.update(overrides)
    return data


def user(email: str | None = None, *, staff: bool = False, password: str = "pw"):
    email = email or f"user{next(_seq)}@example.org"
    return get_user_model().objects.create_user(
        username=email, email=email, password=password, is_staff=staff, is_superuser=staff
    )


def shop(name: str | None = None, *, managers=(), **fields) -> Enterprise:
    fields.setdefault("enable_subscriptions", True)
    fields.setdefault("contact_email", "shop@example.org")
    ent = Enterprise.objects.create(name=name or f"Shop {next(_seq)}", is_shop=True, **fields)
    ent.managers.add(*managers)
    return ent


def producer(name: str | None = None, *, supplies=(), **fields) -> Enterprise:
    ent = Enterprise.objects.create(
        name=name or f"Farm {next(_seq)}", is_shop=False, is_producer=True, **fields
    )
    for s in supplies:
        SupplierPermission.objects.create(producer=ent, shop=s)
    return ent


def variant(
    supplier: Enterprise,
    *,
    price: str | Decimal = "10.00",
    on_hand: int = 100,
    on_demand=False,
    name="1 kg",
    product_name=None,
) -> Variant:
    product = Product.objects.create(
        supplier=supplier, name=product_name or f"Product {next(_seq)}"
    )
    return Variant.objects.create(
        product=product,
        name=name,
        unit="kg",
        price=Decimal(price),
        on_hand=on_hand,
        on_demand=on_demand,
    )


def order_cycle(
    shop: Enterprise,
    *,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    variants=(),
    fees=(),
    name: str | None = None,
) -> OrderCycle:
    now = timezone.now()
    opens_at = opens_at or now - timedelta(days=1)
    closes_at = closes_at or opens_at + timedelta(days=7)
    oc = OrderCycle.objects.create(
        shop=shop, name=name or f"Cycle {next(_seq)}", opens_at=opens_at, closes_at=closes_at
    )
    oc.variants.add(*variants)
    for fee_name, kind, amount in fees:
        OrderCycleFee.objects.create(
            order_cycle=oc, name=fee_name, kind=kind, amount=Decimal(amount)
        )
    return oc


def schedule(shop: Enterprise, cycles=(), name: str | None = None) -> Schedule:
    sch = Schedule.objects.create(shop=shop, name=name or f"Weekly {next(_seq)}")
    sch.order_cycles.add(*cycles)
    return sch


def customer(shop: Enterprise, email: str | None = None, *, user=None, **fields) -> Customer:
    fields.setdefault("bill_address", address())
    fields.setdefault("ship_address", address())
    return Customer.objects.create(
        shop=shop, email=email or f"buyer{next(_seq)}@example.org", user=user, **fields
    )


def shipping_method(
    shop: Enterprise, *, fee="0.00", requires_address=True, name="Delivery"
) -> ShippingMethod:
    return ShippingMethod.objects.create(
        shop=shop, name=name, fee=Decimal(fee), requires_address=requires_address
    )


def payment_method(
    shop: Enterprise, *, kind="manual", fee="0.00", fee_percent="0", name=None
) -> PaymentMethod:
    return PaymentMethod.objects.create(
        shop=shop,
        name=name or kind.title(),
        kind=kind,
        fee=Decimal(fee),
        fee_percent=Decimal(fee_percent),
    )


def subscription(shop: Enterprise, customer: Customer, **fields) -> Subscription:
    """A subscription row written directly, without the services' rules (no lines, no proxy
    orders): for tests about something else. Begins 30 days ago unless `begins_at` is given;
    the schedule and methods are new ones of the shop unless given."""
    fields.setdefault("begins_at", timezone.now() - timedelta(days=30))
    fields.setdefault("bill_address", address())
    fields.setdefault("ship_address", address())
    if "schedule" not in fields:
        fields["schedule"] = schedule(shop)
    if "payment_method" not in fields:
        fields["payment_method"] = payment_method(shop)
    if "shipping_method" not in fields:
        fields["shipping_method"] = shipping_method(shop)
    return Subscription.objects.create(shop=shop, customer=customer, **fields)
