"""The authorization matrix: every route × {staff, the shop's manager, another shop's
manager, a buyer, anonymous} answers the expected code.

The data is built once for the module (inside a transaction rolled back at the end); each
test runs in a savepoint of its own, so writes made by one case never leak into another.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from cadence.api.models import ApiToken
from cadence.orders.models import LineItem, Order
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from tests.support import factories as f

ROLES = ("staff", "manager", "other_manager", "buyer", "anonymous")


def _subscription(shop, w, **fields):
    sub = Subscription.objects.create(
        shop=shop,
        customer=w["customer"],
        schedule=w["schedule_obj"],
        payment_method=w["pm_obj"],
        shipping_method=w["sm_obj"],
        bill_address=f.address(),
        ship_address=f.address(),
        begins_at=timezone.now() - timedelta(days=1),
        **fields,
    )
    SubscriptionLineItem.objects.create(subscription=sub, variant=w["variant_obj"], quantity=1)
    return sub


def build_world() -> dict:
    now = timezone.now()
    users = {
        "staff": f.user(staff=True),
        "manager": f.user(),
        "other_manager": f.user(),
        "buyer": f.user(),
    }
    shop = f.shop(managers=[users["manager"]])
    f.shop(managers=[users["other_manager"]])
    farm = f.producer()
    farm.managers.add(users["manager"])
    variant = f.variant(shop)
    cycle = f.order_cycle(
        shop,
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=4),
        variants=[variant],
    )
    w: dict = {
        "tokens": {role: ApiToken.issue(user)[1] for role, user in users.items()},
        "shop": shop.pk,
        "farm": farm.pk,
        "variant": variant.pk,
        "variant_obj": variant,
        "product": variant.product_id,
        "cycle": cycle.pk,
        "customer": f.customer(shop, "buyer@example.org", user=users["buyer"]),
        "schedule_obj": f.schedule(shop, [cycle]),
        "pm_obj": f.payment_method(shop),
        "sm_obj": f.shipping_method(shop),
    }
    w["free_customer"] = f.customer(shop).pk
    w["free_schedule"] = f.schedule(shop, [cycle]).pk
    sub = _subscription(shop, w)
    paused = _subscription(shop, w, paused_at=now)
    w["proxy"] = ProxyOrder.objects.create(subscription=sub, order_cycle=cycle).pk
    w["skipped_proxy"] = ProxyOrder.objects.create(
        subscription=paused, order_cycle=cycle, state=ProxyOrderState.CANCELED, canceled_at=now
    ).pk
    order = Order.objects.create(
        number="M1", shop=shop, order_cycle=cycle, customer=w["customer"], email="b@example.org"
    )
    LineItem.objects.create(
        order=order, variant=variant, quantity=1, requested_quantity=1, price=Decimal("1")
    )
    w.update(
        subscription=sub.pk,
        paused=paused.pk,
        order=order.pk,
        customer_id=w["customer"].pk,
        schedule=w["schedule_obj"].pk,
        pm=w["pm_obj"].pk,
        sm=w["sm_obj"].pk,
    )
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)


def subscription_body(w):
    return {
        "customer_id": w["free_customer"],
        "schedule_id": w["schedule"],
        "payment_method_id": w["pm"],
        "shipping_method_id": w["sm"],
        "begins_at": "2030-01-01T00:00:00",
        "line_items": [{"variant_id": w["variant"], "quantity": 1}],
    }


# (method, path, body, code for staff, code for the shop's manager). Another manager and a
# buyer get 404 on every enterprise-scoped route; anonymous gets 401 everywhere.
ROUTES = [
    ("post", "/enterprises", lambda w: {"name": "New"}, 201, 403),
    ("get", "/enterprises", None, 200, 200),
    ("get", "/enterprises/{shop}", None, 200, 200),
    ("patch", "/enterprises/{shop}", lambda w: {"allow_order_changes": True}, 200, 200),
    ("post", "/enterprises/{shop}/managers", lambda w: {"email": "m@example.org"}, 201, 201),
    ("post", "/enterprises/{shop}/suppliers", lambda w: {"producer_id": w["farm"]}, 201, 201),
    (
        "post",
        "/enterprises/{shop}/products",
        lambda w: {"name": "P", "variants": [{"price": "1"}]},
        201,
        201,
    ),
    ("get", "/enterprises/{shop}/products", None, 200, 200),
    ("patch", "/variants/{variant}", lambda w: {"price": "2.00"}, 200, 200),
    ("delete", "/variants/{variant}", None, 204, 204),
    ("delete", "/products/{product}", None, 204, 204),
    ("post", "/enterprises/{shop}/shipping-methods", lambda w: {"name": "S"}, 201, 201),
    ("get", "/enterprises/{shop}/shipping-methods", None, 200, 200),
    ("patch", "/shipping-methods/{sm}", lambda w: {"fee": "1"}, 200, 200),
    (
        "post",
        "/enterprises/{shop}/payment-methods",
        lambda w: {"name": "Cash", "kind": "manual"},
        201,
        201,
    ),
    ("get", "/enterprises/{shop}/payment-methods", None, 200, 200),
    ("patch", "/payment-methods/{pm}", lambda w: {"fee": "1"}, 200, 200),
    ("post", "/enterprises/{shop}/customers", lambda w: {"email": "n@example.org"}, 201, 201),
    ("get", "/enterprises/{shop}/customers", None, 200, 200),
    ("get", "/customers/{customer_id}", None, 200, 200),
    ("patch", "/customers/{customer_id}", lambda w: {"code": "K"}, 200, 200),
    ("delete", "/customers/{free_customer}", None, 204, 204),
    ("delete", "/customers/{customer_id}", None, 409, 409),
    (
        "post",
        "/enterprises/{shop}/order-cycles",
        lambda w: {"name": "C", "opens_at": "2030-01-01T00:00", "closes_at": "2030-01-02T00:00"},
        201,
        201,
    ),
    ("get", "/enterprises/{shop}/order-cycles", None, 200, 200),
    ("get", "/order-cycles/{cycle}", None, 200, 200),
    ("patch", "/order-cycles/{cycle}", lambda w: {"name": "C2"}, 200, 200),
    ("get", "/order-cycles/{cycle}/forecast", None, 200, 200),
    ("post", "/enterprises/{shop}/schedules", lambda w: {"name": "S"}, 201, 201),
    ("get", "/enterprises/{shop}/schedules", None, 200, 200),
    ("get", "/schedules/{schedule}", None, 200, 200),
    ("patch", "/schedules/{schedule}", lambda w: {"name": "S2"}, 200, 200),
    ("delete", "/schedules/{free_schedule}", None, 204, 204),
    ("delete", "/schedules/{schedule}", None, 409, 409),
    ("post", "/enterprises/{shop}/subscriptions", subscription_body, 201, 201),
    ("get", "/enterprises/{shop}/subscriptions", None, 200, 200),
    ("get", "/subscriptions/{subscription}", None, 200, 200),
    ("patch", "/subscriptions/{subscription}", lambda w: {"ends_at": None}, 200, 200),
    ("post", "/subscriptions/{subscription}/pause", lambda w: {"open_orders": "keep"}, 200, 200),
    ("post", "/subscriptions/{paused}/unpause", None, 200, 200),
    ("post", "/subscriptions/{subscription}/cancel", lambda w: {"open_orders": "keep"}, 200, 200),
    ("get", "/subscriptions/{subscription}/proxy-orders", None, 200, 200),
    ("post", "/proxy-orders/{proxy}/cancel", None, 200, 200),
    ("post", "/proxy-orders/{skipped_proxy}/resume", None, 200, 200),
    ("get", "/orders/{order}", None, 200, 200),
    ("get", "/enterprises/{shop}/orders", None, 200, 200),
]


def expected(route, role) -> int:
    method, path, _body, staff, manager = route
    if role == "anonymous":
        return 401
    if role == "staff":
        return staff
    if role == "manager":
        return manager
    if (method, path) == ("get", "/enterprises"):
        return 200
    if (method, path) == ("post", "/enterprises"):
        return 403
    return 404


CASES = [
    pytest.param(route, role, id=f"{route[0].upper()} {route[1]} as {role}")
    for route in ROUTES
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize("route, role", CASES)
def test_authorization_matrix(world, route, role):
    """Each role gets the expected code on each route: not yours is 404, not allowed 403."""
    method, path, body, _staff, _manager = route
    url = "/api/v1" + path.format(**world)
    headers = {}
    if role != "anonymous":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world['tokens'][role]}"
    kwargs = dict(headers)
    if method != "get":
        kwargs.update(data=json.dumps(body(world) if body else {}), content_type="application/json")
    response = getattr(Client(), method)(url, **kwargs)
    assert response.status_code == expected(route, role), response.content


def test_every_route_is_in_the_matrix():
    """The matrix covers every operation the API declares, outside the buyer's /me routes."""
    from cadence.api.router import api

    schema = api.get_openapi_schema()
    declared = {
        (method, path.removeprefix("/api/v1"))
        for path, operations in schema["paths"].items()
        for method in operations
        if not path.startswith("/api/v1/me")
    }
    covered = set()
    for method, path, *_rest in ROUTES:
        generic = path
        for key in (
            "shop",
            "variant",
            "product",
            "sm",
            "pm",
            "customer_id",
            "free_customer",
            "cycle",
            "schedule",
            "free_schedule",
            "subscription",
            "paused",
            "proxy",
            "skipped_proxy",
            "order",
        ):
            generic = generic.replace("{" + key + "}", "{id}")
        covered.add((method, generic))
    declared_generic = set()
    for method, path in declared:
        parts = ["{id}" if p.startswith("{") else p for p in path.split("/")]
        declared_generic.add((method, "/".join(parts)))
    assert declared_generic == covered
