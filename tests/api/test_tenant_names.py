"""No names across tenants: an answer to an id the caller cannot see names nothing of it.

Two shops are built once for the module, each with a product, a cycle, a schedule, methods, a
customer (with a buyer account, an order, a subscription and a delivery) and a saved card;
the other shop's rows have distinctive names. Every route that takes an id, in its path, its
body or its query, is called by a manager (or buyer) of the first shop with the other shop's
id: the answer refuses, names the field the id was sent in (422) or says "not found" (404),
and its whole body contains none of the other shop's names, in English and in French.

The path cases are derived from the OpenAPI description, so a new route is covered as soon
as it exists; a new id field in a body or a query must be added to `FIELD_CASES` (a test
fails until it is). The back-office pages that take ids in forms are checked the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from cadence.api.models import ApiToken
from cadence.orders.models import LineItem, Order
from cadence.payments.models import SavedCard
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from tests.support import factories as f

# The other tenant: everything a refusal could be tempted to name.
THEIRS = {
    "shop": "ZULU Secret Farm",
    "product": "Unicorn Cheese",
    "variant": "Moonbeam Wheel",
    "cycle": "Solstice Cycle",
    "schedule": "Nightjar Schedule",
    "payment_method": "Dragon Gold Pay",
    "shipping_method": "Griffin Courier",
    "first_name": "Zelda",
    "last_name": "Quixotica",
    "email": "zelda@zulu-secret.example",
    "manager": "boss@zulu-secret.example",
    "order": "ZULUORD-7",
}
MINE = {
    "shop": "Alpha Market",
    "product": "Carrots",
    "variant": "1 kg",
    "cycle": "Week 12",
    "schedule": "Weekly",
    "payment_method": "Cash",
    "shipping_method": "Pick-up",
    "first_name": "Amy",
    "last_name": "Archer",
    "email": "amy@alpha.example",
    "manager": "manager@alpha.example",
    "order": "ALPHA-1",
}
FOREIGN_WORDS = ("zulu", "secret farm", "unicorn", "moonbeam", "solstice", "nightjar", "dragon")
FOREIGN_WORDS += ("griffin", "zelda", "quixotica")

LANGUAGES = ("en", "fr")


def assert_names_nothing_foreign(content: bytes | str, where: str = "") -> None:
    text = content.decode() if isinstance(content, bytes) else content
    # JSON escapes non-ASCII letters; the foreign names are ASCII, but be safe.
    text = text.lower()
    leaked = [word for word in FOREIGN_WORDS if word in text]
    assert not leaked, f"{where} names {leaked}: {text[:600]}"


# --- the two tenants ---------------------------------------------------------------------------


def _tenant(names: dict[str, str]) -> dict[str, Any]:
    now = timezone.now()
    manager = f.user(names["manager"])
    buyer = f.user(names["email"])
    shop = f.shop(names["shop"], managers=[manager], is_producer=True, allow_order_changes=True)
    variant = f.variant(shop, product_name=names["product"], name=names["variant"])
    # Open now: the subscription has an order placed in an open cycle.
    cycle = f.order_cycle(
        shop,
        name=names["cycle"],
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=4),
        variants=[variant],
    )
    schedule = f.schedule(shop, [cycle], name=names["schedule"])
    customer = f.customer(
        shop,
        names["email"],
        user=buyer,
        first_name=names["first_name"],
        last_name=names["last_name"],
        code=names["last_name"],
    )
    payment_method = f.payment_method(shop, name=names["payment_method"])
    shipping_method = f.shipping_method(shop, name=names["shipping_method"])
    subscription = Subscription.objects.create(
        shop=shop,
        customer=customer,
        schedule=schedule,
        payment_method=payment_method,
        shipping_method=shipping_method,
        bill_address=customer.bill_address,
        ship_address=customer.ship_address,
        begins_at=now - timedelta(days=2),
    )
    SubscriptionLineItem.objects.create(subscription=subscription, variant=variant, quantity=2)
    order = Order.objects.create(
        number=names["order"],
        shop=shop,
        order_cycle=cycle,
        customer=customer,
        user=buyer,
        email=customer.email,
    )
    LineItem.objects.create(
        order=order, variant=variant, quantity=2, requested_quantity=2, price=Decimal("4.00")
    )
    proxy = ProxyOrder.objects.create(
        subscription=subscription,
        order_cycle=cycle,
        order=order,
        state=ProxyOrderState.PLACED,
        placed_at=now,
    )
    card = SavedCard.objects.create(
        user=buyer,
        stripe_payment_method_id=f"pm_{names['last_name'].lower()}",
        brand="visa",
        last4="4242",
        usable_off_session=True,
        is_default=True,
    )
    return {
        "tokens": {
            "manager": ApiToken.issue(manager)[1],
            "buyer": ApiToken.issue(buyer)[1],
        },
        "users": {"manager": manager, "buyer": buyer},
        # Ids under the names of the API's path parameters (method_id is resolved per path).
        "enterprise_id": shop.pk,
        "shop_id": shop.pk,
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "order_cycle_id": cycle.pk,
        "schedule_id": schedule.pk,
        "customer_id": customer.pk,
        "payment_method_id": payment_method.pk,
        "shipping_method_id": shipping_method.pk,
        "subscription_id": subscription.pk,
        "order_id": order.pk,
        "proxy_order_id": proxy.pk,
        "card_id": card.pk,
        "card_pm": card.stripe_payment_method_id,
    }


@dataclass
class World:
    mine: dict[str, Any]
    theirs: dict[str, Any]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Both tenants, built once and rolled back after the module; each test runs in a
    savepoint of its own."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield World(mine=_tenant(MINE), theirs=_tenant(THEIRS))
            transaction.set_rollback(True)


def call(w: World, role: str, method: str, path: str, body=None, *, lang: str = "en"):
    """Call /api/v1`path` as my shop's manager or buyer, in `lang`."""
    kwargs: dict[str, Any] = {
        "HTTP_AUTHORIZATION": f"Bearer {w.mine['tokens'][role]}",
        "HTTP_ACCEPT_LANGUAGE": lang,
    }
    if method != "get":
        kwargs.update(data=json.dumps(body if body is not None else {}))
        kwargs["content_type"] = "application/json"
    response = getattr(Client(), method)(f"/api/v1{path}", **kwargs)
    response.data = json.loads(response.content) if response.content else None
    return response


# --- foreign ids in the path -------------------------------------------------------------------


def _api_operations() -> list[tuple[str, str, dict]]:
    from cadence.api.router import api

    schema = api.get_openapi_schema()
    return [
        (method, path.removeprefix("/api/v1"), operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def _subscription_body(ids: dict, **overrides) -> dict:
    body = {
        "customer_id": ids["customer_id"],
        "schedule_id": ids["schedule_id"],
        "payment_method_id": ids["payment_method_id"],
        "shipping_method_id": ids["shipping_method_id"],
        "begins_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "line_items": [{"variant_id": ids["variant_id"], "quantity": 1}],
    }
    body.update(overrides)
    return body


# A valid body for the operations that require one, so the call reaches the id check (built
# with my own ids: only the path's id is the other shop's).
VALID_BODIES: dict[tuple[str, str], Callable[[dict], dict]] = {
    ("post", "/enterprises/{enterprise_id}/managers"): lambda m: {"email": "new@alpha.example"},
    ("post", "/enterprises/{enterprise_id}/suppliers"): lambda m: {
        "producer_id": m["enterprise_id"]
    },
    ("post", "/enterprises/{enterprise_id}/shipping-methods"): lambda m: {"name": "Van"},
    ("post", "/enterprises/{enterprise_id}/payment-methods"): lambda m: {
        "name": "Cheque",
        "kind": "manual",
    },
    ("post", "/enterprises/{enterprise_id}/products"): lambda m: {
        "name": "Leeks",
        "variants": [{"name": "1 kg", "unit": "kg", "price": "2.00"}],
    },
    ("post", "/enterprises/{enterprise_id}/customers"): lambda m: {"email": "new@alpha.example"},
    ("post", "/enterprises/{enterprise_id}/order-cycles"): lambda m: {
        "name": "Week 13",
        "opens_at": "2030-01-01T00:00:00",
        "closes_at": "2030-01-03T00:00:00",
    },
    ("post", "/enterprises/{enterprise_id}/schedules"): lambda m: {"name": "Fortnightly"},
    ("post", "/enterprises/{enterprise_id}/subscriptions"): _subscription_body,
    ("patch", "/me/shops/{shop_id}"): lambda m: {"allow_charges": True},
    ("patch", "/me/orders/{order_id}"): lambda m: {
        "line_items": [{"variant_id": m["variant_id"], "quantity": 1}]
    },
}


def _foreign_path(path: str, ids: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "method_id":
            name = "payment_method_id" if "/payment-methods/" in path else "shipping_method_id"
        assert name in ids, f"{path}: give each tenant a row for {{{name}}} in _tenant()"
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", value, path)


PATH_CASES = [
    pytest.param(method, path, lang, id=f"{method.upper()} {path} [{lang}]")
    for method, path, _op in _api_operations()
    if "{" in path
    for lang in LANGUAGES
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, lang", PATH_CASES)
def test_another_tenants_id_in_the_path_is_not_found_and_named_nowhere(world, method, path, lang):
    """My manager (or, under /me, my buyer) calling with the other shop's id: 404 with a
    detail, and not one of the other shop's names in the answer."""
    role = "buyer" if path.startswith("/me/") else "manager"
    make_body = VALID_BODIES.get((method, path))
    body = make_body(world.mine) if make_body else {}
    response = call(world, role, method, _foreign_path(path, world.theirs), body, lang=lang)

    assert response.status_code == 404, response.data
    assert set(response.data) == {"detail"} and response.data["detail"]
    assert_names_nothing_foreign(response.content, f"{method.upper()} {path}")


# --- foreign ids in a body or a query ----------------------------------------------------------


@dataclass
class FieldCase:
    """One id field of one operation, given the other shop's id.

    `body(mine, theirs)` is the request body (None: no body); `query(theirs)` the query
    string. `status` and `error_field` are the answer expected (`error_field` None: a
    `detail`); `echo(theirs)`, when given, is a text the message must contain (the id sent,
    repeated so the client knows which one)."""

    method: str
    path: str
    id_field: str
    status: int
    error_field: str | None = None
    body: Callable[[dict, dict], dict] | None = None
    query: Callable[[dict], str] | None = None
    echo: Callable[[dict], str] | None = None
    role: str = "manager"
    extra: dict = field(default_factory=dict)


SUBSCRIPTIONS = "/enterprises/{enterprise_id}/subscriptions"
SUBSCRIPTION = "/subscriptions/{subscription_id}"


def _foreign_line(t: dict) -> list[dict]:
    return [{"variant_id": t["variant_id"], "quantity": 1}]


FIELD_CASES = [
    # Subscriptions: create.
    *[
        FieldCase(
            "post",
            SUBSCRIPTIONS,
            key,
            422,
            key,
            body=lambda m, t, key=key: _subscription_body(m, **{key: t[key]}),
        )
        for key in ("customer_id", "schedule_id", "payment_method_id", "shipping_method_id")
    ],
    FieldCase(
        "post",
        SUBSCRIPTIONS,
        "line_items.variant_id",
        422,
        "line_items",
        body=lambda m, t: _subscription_body(m, line_items=_foreign_line(t)),
        echo=lambda t: str(t["variant_id"]),
    ),
    # Subscriptions: edit (customer and schedule are fixed, the others are checked).
    *[
        FieldCase("patch", SUBSCRIPTION, key, 422, key, body=lambda m, t, key=key: {key: t[key]})
        for key in ("customer_id", "schedule_id", "payment_method_id", "shipping_method_id")
    ],
    FieldCase(
        "patch",
        SUBSCRIPTION,
        "line_items.variant_id",
        422,
        "line_items",
        body=lambda m, t: {"line_items": _foreign_line(t)},
        echo=lambda t: str(t["variant_id"]),
    ),
    # Order cycles' variants and schedules' cycles.
    FieldCase(
        "post",
        "/enterprises/{enterprise_id}/order-cycles",
        "variant_ids",
        422,
        "variant_ids",
        body=lambda m, t: {
            "name": "Week 13",
            "opens_at": "2030-01-01T00:00:00",
            "closes_at": "2030-01-03T00:00:00",
            "variant_ids": [m["variant_id"], t["variant_id"]],
        },
        echo=lambda t: str(t["variant_id"]),
    ),
    FieldCase(
        "patch",
        "/order-cycles/{order_cycle_id}",
        "variant_ids",
        422,
        "variant_ids",
        body=lambda m, t: {"variant_ids": [t["variant_id"]]},
        echo=lambda t: str(t["variant_id"]),
    ),
    FieldCase(
        "post",
        "/enterprises/{enterprise_id}/schedules",
        "order_cycle_ids",
        422,
        "order_cycle_ids",
        body=lambda m, t: {"name": "Fortnightly", "order_cycle_ids": [t["order_cycle_id"]]},
        echo=lambda t: str(t["order_cycle_id"]),
    ),
    FieldCase(
        "patch",
        "/schedules/{schedule_id}",
        "order_cycle_ids",
        422,
        "order_cycle_ids",
        body=lambda m, t: {"order_cycle_ids": [m["order_cycle_id"], t["order_cycle_id"]]},
        echo=lambda t: str(t["order_cycle_id"]),
    ),
    # A producer is a public enterprise, but the permission is its managers' to give: 403.
    FieldCase(
        "post",
        "/enterprises/{enterprise_id}/suppliers",
        "producer_id",
        403,
        body=lambda m, t: {"producer_id": t["enterprise_id"]},
    ),
    # List filters: another shop's id simply matches nothing.
    FieldCase(
        "get",
        SUBSCRIPTIONS,
        "schedule_id",
        200,
        query=lambda t: f"schedule_id={t['schedule_id']}",
    ),
    FieldCase(
        "get",
        "/enterprises/{enterprise_id}/orders",
        "order_cycle_id",
        200,
        query=lambda t: f"order_cycle_id={t['order_cycle_id']}",
    ),
    # The buyer.
    FieldCase(
        "patch",
        "/me/orders/{order_id}",
        "line_items.variant_id",
        422,
        "line_items",
        body=lambda m, t: {"line_items": [{"variant_id": t["variant_id"], "quantity": 0}]},
        echo=lambda t: str(t["variant_id"]),
        role="buyer",
    ),
    FieldCase(
        "post",
        "/me/cards",
        "stripe_payment_method_id",
        422,
        "stripe_payment_method_id",
        body=lambda m, t: {"stripe_payment_method_id": t["card_pm"]},
        role="buyer",
    ),
]

# Ids of Stripe's, not of a tenant: checked against Stripe itself (tests/payments).
NOT_TENANT_IDS = {("post", "/me/cards", "setup_intent_id")}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "case", FIELD_CASES, ids=lambda c: f"{c.method.upper()} {c.path} {c.id_field}"
)
def test_another_tenants_id_in_a_field_is_refused_under_that_field(world, case, lang):
    """The other shop's id in a body or a query: the expected code, the error under the
    field it was sent in, the id repeated where that helps, and none of its names."""
    mine, theirs = world.mine, world.theirs
    path = _foreign_path(case.path, mine)
    if case.query:
        path += "?" + case.query(theirs)
    body = case.body(mine, theirs) if case.body else None
    response = call(world, case.role, case.method, path, body, lang=lang)

    assert response.status_code == case.status, response.data
    assert_names_nothing_foreign(response.content, f"{case.method.upper()} {case.path}")
    if case.status == 422:
        assert list(response.data["errors"]) == [case.error_field], response.data
        if case.echo:
            assert any(case.echo(theirs) in m for m in response.data["errors"][case.error_field])
    elif case.status == 200:
        assert response.data["count"] == 0
    else:
        assert set(response.data) == {"detail"}


def _id_fields(schema: dict, node: dict, prefix: str = "") -> set[str]:
    """The fields of a request body that carry ids (`…_id`, `…_ids`), nested ones dotted."""
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    found: set[str] = set()
    for variant in node.get("anyOf", []) + node.get("allOf", []):
        found |= _id_fields(schema, variant, prefix)
    if "items" in node:
        found |= _id_fields(schema, node["items"], prefix)
    for name, sub in node.get("properties", {}).items():
        if name.endswith(("_id", "_ids")):
            found.add(prefix + name)
        found |= _id_fields(schema, sub, f"{prefix}{name}.")
    return found


def test_every_id_field_of_a_body_or_a_query_has_a_case():
    """Adding an id to a body or a query without a case here fails: the table must grow."""
    from cadence.api.router import api

    schema = api.get_openapi_schema()
    declared = set()
    for method, path, operation in _api_operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"].endswith("_id"):
                declared.add((method, path, parameter["name"]))
        content = operation.get("requestBody", {}).get("content", {})
        body = content.get("application/json", {}).get("schema")
        if body:
            declared |= {(method, path, name) for name in _id_fields(schema, body)}
    covered = {(c.method, c.path, c.id_field) for c in FIELD_CASES}
    assert declared - NOT_TENANT_IDS - covered == set()


# --- pause and cancel name the choice they need ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("action", ["pause", "cancel"])
def test_pause_and_cancel_without_open_orders_name_the_field_and_its_values(world, action, lang):
    """With an order placed in an open cycle and no `open_orders`, the 409 tells the client
    to send `open_orders` with "keep" or "cancel"; nothing changes."""
    path = f"/subscriptions/{world.mine['subscription_id']}/{action}"
    response = call(world, "manager", "post", path, {}, lang=lang)

    assert response.status_code == 409, response.data
    detail = response.data["detail"]
    assert "open_orders" in detail and '"keep"' in detail and '"cancel"' in detail, detail
    assert ("Choisissez" in detail) == (lang == "fr")
    assert call(world, "manager", "get", SUBSCRIPTION.format(**world.mine)).data["status"] == (
        "active"
    )


# --- the back office's pages -------------------------------------------------------------------


def _cycle_form(**overrides) -> dict:
    data = {
        "name": "Week 13",
        "opens_at": "2030-12-02T18:00",
        "closes_at": "2030-12-05T20:30",
        "variant_ids": [],
        "q": "",
        "fees-TOTAL_FORMS": "0",
        "fees-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


@dataclass
class PageCase:
    """A page of my shop given the other shop's id (`url(mine, theirs)`, `data` to POST)."""

    label: str
    url: Callable[[dict, dict], str]
    status: int
    data: Callable[[dict, dict], dict] | None = None
    error_field: str | None = None
    headers: dict = field(default_factory=dict)


def _manage(m: dict, tail: str) -> str:
    return f"/manage/{m['enterprise_id']}/{tail}"


PAGE_CASES = [
    PageCase(
        "new cycle with their variant",
        lambda m, t: _manage(m, "order-cycles/new/"),
        200,
        data=lambda m, t: _cycle_form(variant_ids=[m["variant_id"], t["variant_id"]]),
        error_field="variant_ids",
    ),
    PageCase(
        "my cycle edited with their variant",
        lambda m, t: _manage(m, f"order-cycles/{m['order_cycle_id']}/"),
        200,
        data=lambda m, t: _cycle_form(variant_ids=[t["variant_id"]]),
        error_field="variant_ids",
    ),
    PageCase(
        "variant picker's search, their variant ticked",
        lambda m, t: _manage(m, f"order-cycles/variants/?q=Cheese&variant_ids={t['variant_id']}"),
        200,
        headers={"HTTP_HX_REQUEST": "true"},
    ),
    PageCase(
        "new cycle's form searching their product",
        lambda m, t: _manage(m, "order-cycles/new/?q=Cheese"),
        200,
    ),
    PageCase(
        "new schedule with their cycle",
        lambda m, t: _manage(m, "schedules/new/"),
        200,
        data=lambda m, t: {"name": "Fortnightly", "order_cycle_ids": [t["order_cycle_id"]]},
        error_field="order_cycle_ids",
    ),
    PageCase(
        "my schedule edited with their cycle",
        lambda m, t: _manage(m, f"schedules/{m['schedule_id']}/"),
        200,
        data=lambda m, t: {
            "name": "Weekly",
            "order_cycle_ids": [m["order_cycle_id"], t["order_cycle_id"]],
        },
        error_field="order_cycle_ids",
    ),
    PageCase(
        "products filtered by their enterprise",
        lambda m, t: _manage(m, f"products/?producer={t['enterprise_id']}"),
        200,
    ),
    *[
        PageCase(f"their {what} under my shop", lambda m, t, tail=tail: _manage(m, tail(t)), 404)
        for what, tail in [
            ("cycle", lambda t: f"order-cycles/{t['order_cycle_id']}/"),
            ("cycle's copy", lambda t: f"order-cycles/{t['order_cycle_id']}/clone/"),
            ("cycle's deletion", lambda t: f"order-cycles/{t['order_cycle_id']}/delete/"),
            ("schedule", lambda t: f"schedules/{t['schedule_id']}/"),
            ("schedule's deletion", lambda t: f"schedules/{t['schedule_id']}/delete/"),
            ("customer", lambda t: f"customers/{t['customer_id']}/"),
            ("customer's removal", lambda t: f"customers/{t['customer_id']}/delete/"),
            ("product", lambda t: f"products/{t['product_id']}/"),
            ("product's deletion", lambda t: f"products/{t['product_id']}/delete/"),
            ("payment method", lambda t: f"payment-methods/{t['payment_method_id']}/"),
            ("shipping method", lambda t: f"shipping-methods/{t['shipping_method_id']}/"),
        ]
    ],
    *[
        PageCase(
            f"their shop's {tail or 'home'}",
            lambda m, t, tail=tail: f"/manage/{t['enterprise_id']}/{tail}",
            404,
        )
        for tail in ("", "settings/", "order-cycles/", "schedules/", "customers/", "products/")
    ],
]


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: c.label)
def test_back_office_pages_name_nothing_of_another_tenant(world, client, case, lang):
    """The pages that take ids (in the URL or a form) refuse the other shop's, showing the
    message next to its field, and name nothing of it."""
    client.force_login(world.mine["users"]["manager"])
    client.cookies["django_language"] = lang
    url = case.url(world.mine, world.theirs)
    if case.data:
        response = client.post(url, case.data(world.mine, world.theirs), **case.headers)
    else:
        response = client.get(url, **case.headers)

    assert response.status_code == case.status, url
    assert_names_nothing_foreign(response.content, case.label)
    if case.error_field:
        assert f'id="id_{case.error_field}_error"' in response.text


@pytest.mark.django_db
def test_buyer_pages_name_nothing_of_another_tenant(world, client):
    """A buyer asking to allow charges for a shop that does not have them, or opening another
    buyer's order or delivery, is refused without a name."""
    client.force_login(world.mine["users"]["buyer"])
    t = world.theirs
    response = client.post(
        f"/account/shops/{t['shop_id']}/charges/", {"allow_charges": "on"}, follow=True
    )
    assert response.status_code == 200
    assert "This shop does not have you as a customer." in response.text
    assert_names_nothing_foreign(response.content, "allow charges")
    for url, method in [
        (f"/account/orders/{t['order_id']}/", "get"),
        (f"/account/orders/{t['order_id']}/cancel/", "post"),
        (f"/account/deliveries/{t['proxy_order_id']}/skip/", "post"),
        (f"/account/deliveries/{t['proxy_order_id']}/resume/", "post"),
        (f"/account/cards/{t['card_id']}/default/", "post"),
        (f"/account/cards/{t['card_id']}/delete/", "post"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert_names_nothing_foreign(response.content, url)
