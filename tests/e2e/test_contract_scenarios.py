"""End-to-end scenarios through the documented interfaces only.

Each scenario drives Cadence the way an outsider would: the `cadence` command (users, tokens,
`tick`) run in-process, and the REST API v1 over HTTP with `Authorization: Bearer <token>`.
Nothing is created through the ORM; the database is read only to count rows around a failing
request ("nothing is written when a request fails"). The paths, fields, codes and rules
asserted are those of the API contract and the domain rules, read literally.

Writes' `on_commit` side effects (placing an order at once on unpause or resume) run as they
do in production: each request and command runs inside a block that executes the callbacks
of the transaction it committed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from cadence.cli import main as cadence_main
from tests.support.contract import SUBSCRIPTION_FIELDS

pytestmark = pytest.mark.django_db

MONEY = re.compile(r"^-?\d+\.\d{2}$")

ADDRESS = {
    "first_name": "Alice",
    "last_name": "Martin",
    "address1": "3 rue des Lilas",
    "address2": "",
    "city": "Lyon",
    "postcode": "69003",
    "country": "FR",
    "phone": "+33 4 00 00 00 00",
}

ORDER_FIELDS = {
    "id",
    "number",
    "state",
    "order_cycle_id",
    "customer_id",
    "subscription_id",
    "line_items",
    "item_total",
    "fee_total",
    "total",
    "payment_state",
    "payments",
}


def is_money(value) -> bool:
    return isinstance(value, str) and MONEY.match(value) is not None


def has_offset(value) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None


def iso(value: datetime) -> str:
    return value.isoformat()


# --- the two interfaces ----------------------------------------------------------------------


class Api:
    """The REST API as one token holder sees it; answers carry `.data` (decoded JSON)."""

    def __init__(self, token: str | None, capture):
        self.client = Client()
        self.capture = capture
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body=None, raw: str | None = None, query=None):
        kwargs = dict(self.headers)
        url = f"/api/v1{path}"
        if method == "get":
            args = (url, query or {})
        else:
            data = raw if raw is not None else json.dumps(body if body is not None else {})
            args = (url,)
            kwargs.update(data=data, content_type="application/json")
        with self.capture(execute=True):
            response = getattr(self.client, method)(*args, **kwargs)
        try:
            response.data = json.loads(response.content) if response.content else None
        except ValueError:
            response.data = None
        return response

    def get(self, path, **query):
        return self._send("get", path, query=query)

    def post(self, path, body=None, raw=None):
        return self._send("post", path, body, raw)

    def patch(self, path, body=None, raw=None):
        return self._send("patch", path, body, raw)

    def delete(self, path):
        return self._send("delete", path)


@dataclass
class Cli:
    capsys: object
    capture: object

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        with self.capture(execute=True):
            code = cadence_main(list(argv))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def token(self, email: str) -> str:
        code, out, err = self("token", "create", email)
        assert code == 0, err
        return out.strip()

    def tick(self) -> str:
        code, out, err = self("tick")
        assert code == 0, err
        return out


@pytest.fixture
def cli(capsys, django_capture_on_commit_callbacks):
    return Cli(capsys, django_capture_on_commit_callbacks)


@pytest.fixture
def api_as(django_capture_on_commit_callbacks):
    return lambda token: Api(token, django_capture_on_commit_callbacks)


@pytest.fixture
def staff(cli, api_as):
    code, _out, err = cli("user", "create", "ops@example.org", "--staff")
    assert code == 0, err
    return api_as(cli.token("ops@example.org"))


# --- a shop set up through the API -----------------------------------------------------------


@dataclass
class Shop:
    id: int
    manager: Api
    variants: dict[str, int]
    shipping_id: int
    payment_id: int
    customers: dict[str, int]
    open_cycle: dict
    upcoming_cycle: dict
    schedule_id: int
    answers: dict = field(default_factory=dict)

    def subscribe(self, customer: str, lines: dict[str, int], **extra):
        body = {
            "customer_id": self.customers[customer],
            "schedule_id": self.schedule_id,
            "payment_method_id": self.payment_id,
            "shipping_method_id": self.shipping_id,
            "begins_at": iso(timezone.now() - timedelta(days=1)),
            "line_items": [
                {"variant_id": self.variants[k], "quantity": q} for k, q in lines.items()
            ],
            **extra,
        }
        r = self.manager.post(f"/enterprises/{self.id}/subscriptions", body)
        assert r.status_code == 201, r.data
        return r.data

    def on_hand(self, name: str) -> int:
        r = self.manager.get(f"/enterprises/{self.id}/products")
        assert r.status_code == 200, r.data
        for product in r.data["items"]:
            for variant in product["variants"]:
                if variant["id"] == self.variants[name]:
                    return variant["on_hand"]
        raise AssertionError(f"variant {name} not listed")

    def proxy_orders(self, subscription_id: int) -> list[dict]:
        r = self.manager.get(f"/subscriptions/{subscription_id}/proxy-orders")
        assert r.status_code == 200, r.data
        return r.data

    def proxy_in(self, subscription_id: int, cycle_id: int) -> dict:
        rows = [p for p in self.proxy_orders(subscription_id) if p["order_cycle_id"] == cycle_id]
        assert len(rows) == 1, rows
        return rows[0]

    def order(self, order_id: int) -> dict:
        r = self.manager.get(f"/orders/{order_id}")
        assert r.status_code == 200, r.data
        return r.data

    def close_open_cycle(self) -> None:
        """How a manager closes a cycle early: move `closes_at` to the past."""
        r = self.manager.patch(
            f"/order-cycles/{self.open_cycle['id']}",
            {"closes_at": iso(timezone.now() - timedelta(minutes=1))},
        )
        assert r.status_code == 200, r.data


# Stock of the shop's four variants: box and eggs for the everyday scenario, honey for
# shortages, jam for an empty placement.
STOCK = {"box": ("12.50", 10), "eggs": ("4.00", 20), "honey": ("9.90", 5), "jam": ("5.00", 0)}


def make_shop(staff: Api, cli: Cli, api_as, *, name: str, manager_email: str) -> Shop:
    """What scenario 1 walks through, step by step, as a staff operator then a manager."""
    answers = {}
    r = staff.post(
        "/enterprises",
        {
            "name": name,
            "is_shop": True,
            "is_producer": True,
            "contact_email": f"hello@{manager_email.split('@')[1]}",
            "timezone": "Europe/Paris",
            "currency": "EUR",
        },
    )
    assert r.status_code == 201, r.data
    answers["enterprise"] = r.data
    shop_id = r.data["id"]

    r = staff.post(f"/enterprises/{shop_id}/managers", {"email": manager_email})
    assert r.status_code == 201, r.data
    manager = api_as(cli.token(manager_email))

    r = manager.patch(
        f"/enterprises/{shop_id}", {"enable_subscriptions": True, "allow_order_changes": True}
    )
    assert r.status_code == 200, r.data
    answers["settings"] = r.data

    variants = {}
    for key, (price, on_hand) in STOCK.items():
        r = manager.post(
            f"/enterprises/{shop_id}/products",
            {
                "name": key.capitalize(),
                "variants": [
                    {
                        "name": "Standard",
                        "unit": "1 unit",
                        "price": price,
                        "on_hand": on_hand,
                        "on_demand": False,
                        "sku": f"SKU-{key}",
                    }
                ],
            },
        )
        assert r.status_code == 201, r.data
        answers.setdefault("products", []).append(r.data)
        variants[key] = r.data["variants"][0]["id"]

    r = manager.post(
        f"/enterprises/{shop_id}/shipping-methods",
        {"name": "Home delivery", "description": "Tuesday evening", "fee": "3.00"},
    )
    assert r.status_code == 201, r.data
    shipping_id = r.data["id"]
    r = manager.post(
        f"/enterprises/{shop_id}/payment-methods",
        {"name": "Cash", "description": "Pay on delivery", "kind": "manual", "fee": "1.00"},
    )
    assert r.status_code == 201, r.data
    payment_id = r.data["id"]

    customers = {}
    for first in ("alice", "bob"):
        r = manager.post(
            f"/enterprises/{shop_id}/customers",
            {
                "email": f"{first}@example.org",
                "first_name": first.capitalize(),
                "last_name": "Martin",
                "phone": "0400000000",
                "code": first.upper(),
                "bill_address": {**ADDRESS, "first_name": first.capitalize()},
                "ship_address": {**ADDRESS, "first_name": first.capitalize()},
            },
        )
        assert r.status_code == 201, r.data
        customers[first] = r.data["id"]

    now = timezone.now()
    fees = [
        {"name": "Hub fee", "kind": "per_order", "amount": "2.00"},
        {"name": "Packing", "kind": "per_item", "amount": "0.50"},
        {"name": "Co-op share", "kind": "percent", "amount": "10"},
    ]
    r = manager.post(
        f"/enterprises/{shop_id}/order-cycles",
        {
            "name": "This week",
            "opens_at": iso(now - timedelta(hours=1)),
            "closes_at": iso(now + timedelta(days=2)),
            "variant_ids": list(variants.values()),
            "fees": fees,
        },
    )
    assert r.status_code == 201, r.data
    open_cycle = r.data
    # Without an offset: read in the shop's time zone (Europe/Paris).
    paris = ZoneInfo("Europe/Paris")
    upcoming_opens = (now + timedelta(days=5)).astimezone(paris).replace(tzinfo=None, microsecond=0)
    r = manager.post(
        f"/enterprises/{shop_id}/order-cycles",
        {
            "name": "Next week",
            "opens_at": upcoming_opens.isoformat(),
            "closes_at": (upcoming_opens + timedelta(days=2)).isoformat(),
            "variant_ids": list(variants.values()),
            "fees": fees,
        },
    )
    assert r.status_code == 201, r.data
    upcoming_cycle = r.data
    answers["upcoming_opens_naive"] = upcoming_opens

    r = manager.post(
        f"/enterprises/{shop_id}/schedules",
        {"name": "Weekly", "order_cycle_ids": [open_cycle["id"], upcoming_cycle["id"]]},
    )
    assert r.status_code == 201, r.data
    return Shop(
        id=shop_id,
        manager=manager,
        variants=variants,
        shipping_id=shipping_id,
        payment_id=payment_id,
        customers=customers,
        open_cycle=open_cycle,
        upcoming_cycle=upcoming_cycle,
        schedule_id=r.data["id"],
        answers=answers,
    )


@pytest.fixture
def shop(staff, cli, api_as) -> Shop:
    return make_shop(staff, cli, api_as, name="Green Valley Hub", manager_email="mia@green.test")


@pytest.fixture
def buyer(cli, api_as):
    """Alice, on the shop's customer list by email, with a user account and a token."""
    code, _out, err = cli("user", "create", "alice@example.org", "--password", "pw-alice-1")
    assert code == 0, err
    return api_as(cli.token("alice@example.org"))


# --- 1. set-up and the subscription's detail -------------------------------------------------


def test_scenario_1_setup_and_subscription_detail(shop):
    """A staff operator creates a shop and adds a manager; the manager enables subscriptions,
    creates products, methods, customers, an open and an upcoming cycle with fees of each
    kind, a weekly schedule and a subscription. The subscription's detail has exactly the
    documented fields, money as two-decimal strings and datetimes with offsets; its proxy
    orders are one per cycle not closed and in range."""
    settings = shop.answers["settings"]
    assert settings["enable_subscriptions"] is True
    assert settings["allow_order_changes"] is True
    assert settings["allocation_policy"] == "first_come"
    product = shop.answers["products"][0]
    assert product["variants"][0]["price"] == "12.50"

    # The naive datetimes were read in Europe/Paris and come back with the offset.
    assert has_offset(shop.upcoming_cycle["opens_at"])
    paris = ZoneInfo("Europe/Paris")
    opens = datetime.fromisoformat(shop.upcoming_cycle["opens_at"])
    assert opens.astimezone(paris).replace(tzinfo=None) == shop.answers["upcoming_opens_naive"]
    assert {f["kind"] for f in shop.open_cycle["fees"]} == {"per_order", "per_item", "percent"}

    created = shop.subscribe("alice", {"box": 2, "eggs": 3})
    r = shop.manager.get(f"/subscriptions/{created['id']}")
    assert r.status_code == 200
    sub = r.data
    assert SUBSCRIPTION_FIELDS <= set(sub), SUBSCRIPTION_FIELDS - set(sub)
    assert sub["status"] == "active"
    assert sub["customer_id"] == shop.customers["alice"]
    assert sub["schedule_id"] == shop.schedule_id
    assert sub["payment_method_id"] == shop.payment_id
    assert sub["shipping_method_id"] == shop.shipping_id
    assert has_offset(sub["begins_at"])
    assert sub["ends_at"] is None and sub["paused_at"] is None
    assert sub["resume_on"] is None and sub["canceled_at"] is None
    # Addresses default to the customer's.
    assert sub["bill_address"]["address1"] == ADDRESS["address1"]
    assert sub["ship_address"]["country"] == "FR"
    assert [(li["variant_id"], li["quantity"]) for li in sub["line_items"]] == [
        (shop.variants["box"], 2),
        (shop.variants["eggs"], 3),
    ]
    for line in sub["line_items"]:
        assert {"id", "variant_id", "quantity", "price_estimate", "available"} <= set(line)
        assert is_money(line["price_estimate"]) and line["available"] is True
    # A line's estimate is the variant's price: what the placed order's line will cost.
    assert [li["price_estimate"] for li in sub["line_items"]] == ["12.50", "4.00"]
    estimates = sub["estimates"]
    assert set(estimates) >= {"items", "fees", "total"}
    assert all(is_money(estimates[k]) for k in ("items", "fees", "total"))
    items = sum(Decimal(li["price_estimate"]) * li["quantity"] for li in sub["line_items"])
    assert Decimal(estimates["items"]) == items
    assert Decimal(estimates["total"]) == Decimal(estimates["items"]) + Decimal(estimates["fees"])
    # Every fee the order will pay: hub 2.00 + packing 5×0.50 + 10 % of 37.00 + shipping
    # 3.00 + payment 1.00 (the order placed in scenario 2 has the same figures).
    assert (estimates["items"], estimates["fees"], estimates["total"]) == (
        "37.00",
        "12.20",
        "49.20",
    )

    proxies = shop.proxy_orders(sub["id"])
    assert sorted(p["order_cycle_id"] for p in proxies) == sorted(
        [shop.open_cycle["id"], shop.upcoming_cycle["id"]]
    )
    for proxy in proxies:
        assert {"id", "order_cycle_id", "state", "order_id", "reason"} <= set(proxy)
        assert proxy["state"] == "pending" and proxy["order_id"] is None

    r = shop.manager.get(f"/enterprises/{shop.id}/subscriptions")
    assert r.status_code == 200 and r.data["count"] == 1
    assert r.data["items"][0]["id"] == sub["id"]
    r = shop.manager.get(f"/enterprises/{shop.id}/subscriptions", status="active", q="alice")
    assert r.data["count"] == 1
    r = shop.manager.get(f"/enterprises/{shop.id}/subscriptions", status="paused")
    assert r.data["count"] == 0


def test_scenario_1_ends_at_mid_cycle_leaves_that_cycle_out(shop):
    """An end date before a cycle closes means no order in that cycle: only the open cycle
    (closing before the end) gets a proxy order."""
    ends = datetime.fromisoformat(shop.upcoming_cycle["closes_at"]) - timedelta(hours=1)
    sub = shop.subscribe("bob", {"eggs": 1}, ends_at=iso(ends))
    assert [p["order_cycle_id"] for p in shop.proxy_orders(sub["id"])] == [shop.open_cycle["id"]]


# --- 2. tick places, then confirms -----------------------------------------------------------


def test_scenario_2_tick_places_then_confirms(shop, cli):
    """`cadence tick` places the open cycle's order with current prices and fees after
    capping, reserves stock, and marks the proxy order placed; a second tick changes
    nothing; closing the cycle early (closes_at in the past) and ticking confirms it."""
    sub = shop.subscribe("alice", {"box": 2, "eggs": 3})
    estimates = sub["estimates"]
    out = cli.tick()
    assert "This week" in out

    r = shop.manager.get(f"/enterprises/{shop.id}/orders", order_cycle_id=shop.open_cycle["id"])
    assert r.status_code == 200 and r.data["count"] == 1, r.data
    order_id = r.data["items"][0]["id"]
    order = shop.order(order_id)
    assert ORDER_FIELDS <= set(order), ORDER_FIELDS - set(order)
    assert order["state"] == "complete"
    assert isinstance(order["number"], str) and order["number"]
    assert order["order_cycle_id"] == shop.open_cycle["id"]
    assert order["customer_id"] == shop.customers["alice"]
    assert order["subscription_id"] == sub["id"]
    lines = {li["variant_id"]: li for li in order["line_items"]}
    box = lines[shop.variants["box"]]
    assert (box["quantity"], box["requested_quantity"], box["price"]) == (2, 2, "12.50")
    assert (lines[shop.variants["eggs"]]["quantity"], lines[shop.variants["eggs"]]["price"]) == (
        3,
        "4.00",
    )
    # Items 2×12.50 + 3×4.00 = 37.00. Fees: hub 2.00 + packing 5×0.50 + 10 % of 37.00 +
    # shipping 3.00 + payment 1.00 = 12.20.
    assert order["item_total"] == "37.00"
    assert order["fee_total"] == "12.20"
    assert order["total"] == "49.20"
    # The subscription's estimates announced exactly this order.
    assert (estimates["items"], estimates["fees"], estimates["total"]) == (
        order["item_total"],
        order["fee_total"],
        order["total"],
    )
    assert order["payment_state"] == "pending"
    assert len(order["payments"]) == 1
    payment = order["payments"][0]
    assert {"id", "method_id", "amount", "state", "error"} <= set(payment)
    assert payment["method_id"] == shop.payment_id
    assert payment["amount"] == "49.20"
    assert payment["state"] == "pending"
    assert shop.on_hand("box") == 8 and shop.on_hand("eggs") == 17

    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    assert (proxy["state"], proxy["order_id"]) == ("placed", order_id)
    assert shop.proxy_in(sub["id"], shop.upcoming_cycle["id"])["state"] == "pending"

    # A second tick changes nothing.
    cli.tick()
    r = shop.manager.get(f"/enterprises/{shop.id}/orders")
    assert r.data["count"] == 1
    assert shop.on_hand("box") == 8 and shop.on_hand("eggs") == 17
    assert shop.order(order_id)["total"] == "49.20"

    shop.close_open_cycle()
    out = cli.tick()
    assert "This week" in out
    order = shop.order(order_id)
    assert order["state"] == "confirmed"
    # Manual payment: stays pending, collected by hand.
    assert order["payment_state"] == "pending"
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    assert (proxy["state"], proxy["order_id"]) == ("confirmed", order_id)
    r = shop.manager.get(f"/enterprises/{shop.id}/orders", state="confirmed")
    assert r.data["count"] == 1
    # And once more: nothing further.
    cli.tick()
    assert shop.order(order_id)["state"] == "confirmed"
    assert shop.on_hand("box") == 8


def test_scenario_2_nothing_placed_while_subscriptions_are_disabled(shop, cli):
    """A shop with enable_subscriptions off gets nothing placed, even for subscriptions that
    already exist; turning it back on lets the next tick place."""
    sub = shop.subscribe("alice", {"eggs": 1})
    r = shop.manager.patch(f"/enterprises/{shop.id}", {"enable_subscriptions": False})
    assert r.status_code == 200 and r.data["enable_subscriptions"] is False
    cli.tick()
    assert shop.manager.get(f"/enterprises/{shop.id}/orders").data["count"] == 0
    assert shop.proxy_in(sub["id"], shop.open_cycle["id"])["state"] == "pending"
    shop.manager.patch(f"/enterprises/{shop.id}", {"enable_subscriptions": True})
    cli.tick()
    assert shop.proxy_in(sub["id"], shop.open_cycle["id"])["state"] == "placed"


# --- 3. shortages ----------------------------------------------------------------------------


def _quantities(shop: Shop, variant: str) -> dict[int, tuple[int, int]]:
    """customer_id → (quantity, requested_quantity) of `variant` in the open cycle."""
    r = shop.manager.get(f"/enterprises/{shop.id}/orders", order_cycle_id=shop.open_cycle["id"])
    result = {}
    for order in r.data["items"]:
        for line in order["line_items"]:
            if line["variant_id"] == shop.variants[variant]:
                result[order["customer_id"]] = (line["quantity"], line["requested_quantity"])
    return result


def test_scenario_3_first_come_serves_the_oldest_subscription_first(shop, cli):
    """Honey has 5 in stock; Alice (older) asks 4, Bob 3: first_come gives Alice 4 and Bob
    the remaining 1 (asked 3); stock ends at 0, never negative."""
    shop.subscribe("alice", {"honey": 4})
    shop.subscribe("bob", {"honey": 3})
    r = shop.manager.get(f"/order-cycles/{shop.open_cycle['id']}/forecast")
    assert r.status_code == 200
    honey = [row for row in r.data if row["variant_id"] == shop.variants["honey"]]
    assert honey and honey[0]["requested"] == 7 and honey[0]["shortfall"] == 2
    cli.tick()
    assert _quantities(shop, "honey") == {
        shop.customers["alice"]: (4, 4),
        shop.customers["bob"]: (1, 3),
    }
    assert shop.on_hand("honey") == 0


def test_scenario_3_fair_share_is_proportional(shop, cli):
    """With allocation_policy fair_share, 5 honey for asks of 4 and 3 is shared
    proportionally, rounded down (2 and 2), the remainder going to the oldest: 3 and 2."""
    r = shop.manager.patch(f"/enterprises/{shop.id}", {"allocation_policy": "fair_share"})
    assert r.status_code == 200 and r.data["allocation_policy"] == "fair_share"
    shop.subscribe("alice", {"honey": 4})
    shop.subscribe("bob", {"honey": 3})
    cli.tick()
    assert _quantities(shop, "honey") == {
        shop.customers["alice"]: (3, 4),
        shop.customers["bob"]: (2, 3),
    }
    assert shop.on_hand("honey") == 0


def test_scenario_3_nothing_available_makes_an_empty_proxy_order(shop, cli):
    """A subscription asking only for jam (no stock) gets no order: its proxy order is
    `empty` with a reason, and no order exists for it."""
    sub = shop.subscribe("bob", {"jam": 2})
    cli.tick()
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    assert proxy["state"] == "empty"
    assert proxy["order_id"] is None
    assert isinstance(proxy["reason"], str) and proxy["reason"].strip()
    assert shop.manager.get(f"/enterprises/{shop.id}/orders").data["count"] == 0
    assert shop.on_hand("jam") == 0


# --- 4. edits --------------------------------------------------------------------------------


def test_scenario_4_edits_follow_placed_orders_unless_changed_by_hand(shop, cli, buyer):
    """Changing the subscription's line items updates the placed order of the open cycle
    (stock and totals follow). After the buyer lowers a line by hand, a later change of that
    line is not applied and the answer's order_update_issues names the order and cycle."""
    sub = shop.subscribe("alice", {"box": 2, "eggs": 3})
    cli.tick()
    order_id = shop.proxy_in(sub["id"], shop.open_cycle["id"])["order_id"]

    r = shop.manager.patch(
        f"/subscriptions/{sub['id']}",
        {
            "line_items": [
                {"variant_id": shop.variants["box"], "quantity": 3},
                {"variant_id": shop.variants["eggs"], "quantity": 3},
            ]
        },
    )
    assert r.status_code == 200, r.data
    assert r.data["order_update_issues"] == []
    assert SUBSCRIPTION_FIELDS <= set(r.data)
    order = shop.order(order_id)
    box = next(li for li in order["line_items"] if li["variant_id"] == shop.variants["box"])
    assert (box["quantity"], box["requested_quantity"]) == (3, 3)
    assert order["item_total"] == "49.50"
    assert shop.on_hand("box") == 7
    # The pending payment follows the total.
    assert order["payments"][0]["amount"] == order["total"]

    r = buyer.patch(
        f"/me/orders/{order_id}",
        {"line_items": [{"variant_id": shop.variants["eggs"], "quantity": 1}]},
    )
    assert r.status_code == 200, r.data
    assert shop.on_hand("eggs") == 19

    r = shop.manager.patch(
        f"/subscriptions/{sub['id']}",
        {
            "line_items": [
                {"variant_id": shop.variants["box"], "quantity": 3},
                {"variant_id": shop.variants["eggs"], "quantity": 5},
            ]
        },
    )
    assert r.status_code == 200, r.data
    issues = r.data["order_update_issues"]
    assert len(issues) == 1, issues
    assert issues[0]["order_id"] == order_id
    assert issues[0]["order_cycle_id"] == shop.open_cycle["id"]
    assert isinstance(issues[0]["issue"], str) and issues[0]["issue"]
    eggs = next(
        li for li in shop.order(order_id)["line_items"] if li["variant_id"] == shop.variants["eggs"]
    )
    assert eggs["quantity"] == 1
    # The subscription itself took the change.
    detail = shop.manager.get(f"/subscriptions/{sub['id']}").data
    assert {li["variant_id"]: li["quantity"] for li in detail["line_items"]}[
        shop.variants["eggs"]
    ] == 5


def test_scenario_4_customer_and_schedule_are_fixed(shop):
    """Customer and schedule cannot change after creation: 422 naming the field, nothing
    changed."""
    sub = shop.subscribe("alice", {"eggs": 1})
    r = shop.manager.patch(f"/subscriptions/{sub['id']}", {"customer_id": shop.customers["bob"]})
    assert r.status_code == 422 and "customer_id" in r.data["errors"], r.data
    assert (
        shop.manager.get(f"/subscriptions/{sub['id']}").data["customer_id"]
        == (shop.customers["alice"])
    )


# --- 5. pause, cancel, skip, resume and refused deletions ------------------------------------


def test_scenario_5_pause_unpause_and_cancel(shop, cli):
    """Pausing with a placed order in an open cycle and no open_orders answers 409 with a
    detail and changes nothing; keep keeps the order; unpause makes it active again; pause
    with cancel cancels the order and releases its stock; cancel is final."""
    sub = shop.subscribe("alice", {"box": 2})
    cli.tick()
    url = f"/subscriptions/{sub['id']}"
    order_id = shop.proxy_in(sub["id"], shop.open_cycle["id"])["order_id"]

    # Without open_orders: with an empty object, and with no body at all.
    for raw in ("{}", ""):
        r = shop.manager.post(f"{url}/pause", raw=raw)
        assert r.status_code == 409, (raw, r.data)
        assert set(r.data) == {"detail"} and r.data["detail"]
    r = shop.manager.post(f"{url}/cancel", raw="")
    assert r.status_code == 409 and r.data["detail"], r.data
    assert shop.manager.get(url).data["status"] == "active"

    r = shop.manager.post(f"{url}/pause", {"open_orders": "keep"})
    assert r.status_code == 200, r.data
    assert r.data["status"] == "paused" and has_offset(r.data["paused_at"])
    assert shop.order(order_id)["state"] == "complete"

    r = shop.manager.post(f"{url}/unpause")
    assert r.status_code == 200, r.data
    assert r.data["status"] == "active" and r.data["paused_at"] is None

    r = shop.manager.post(f"{url}/pause", {"open_orders": "cancel", "resume_on": "2099-01-05"})
    assert r.status_code == 200, r.data
    assert r.data["status"] == "paused" and r.data["resume_on"] == "2099-01-05"
    assert shop.order(order_id)["state"] == "canceled"
    assert shop.on_hand("box") == 10

    r = shop.manager.post(f"{url}/cancel", {"open_orders": "cancel"})
    assert r.status_code == 200, r.data
    assert r.data["status"] == "canceled" and has_offset(r.data["canceled_at"])
    upcoming = shop.proxy_in(sub["id"], shop.upcoming_cycle["id"])
    assert upcoming["state"] == "canceled"


def test_scenario_5_unpause_during_open_cycle_places_at_once(shop):
    """A subscription paused before placement and unpaused while the cycle is open gets its
    order placed at once, without waiting for a tick."""
    sub = shop.subscribe("alice", {"eggs": 2})
    url = f"/subscriptions/{sub['id']}"
    assert shop.manager.post(f"{url}/pause", {"open_orders": "keep"}).status_code == 200
    r = shop.manager.post(f"{url}/unpause")
    assert r.status_code == 200, r.data
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    assert proxy["state"] == "placed" and proxy["order_id"]
    assert shop.on_hand("eggs") == 18


def test_scenario_5_skip_and_resume_one_delivery(shop, cli):
    """Skipping a placed delivery cancels its order and releases stock; resuming re-places
    it while the cycle is open; once the cycle has closed both answer 409."""
    sub = shop.subscribe("alice", {"box": 2})
    cli.tick()
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    first_order = proxy["order_id"]

    r = shop.manager.post(f"/proxy-orders/{proxy['id']}/cancel")
    assert r.status_code == 200, r.data
    assert r.data["state"] == "canceled"
    assert shop.order(first_order)["state"] == "canceled"
    assert shop.on_hand("box") == 10

    r = shop.manager.post(f"/proxy-orders/{proxy['id']}/resume")
    assert r.status_code == 200, r.data
    assert r.data["state"] == "placed" and r.data["order_id"]
    assert shop.order(r.data["order_id"])["state"] == "complete"
    assert shop.on_hand("box") == 8

    # Skipping an upcoming (pending) delivery and resuming it.
    upcoming = shop.proxy_in(sub["id"], shop.upcoming_cycle["id"])
    r = shop.manager.post(f"/proxy-orders/{upcoming['id']}/cancel")
    assert r.status_code == 200 and r.data["state"] == "canceled"
    r = shop.manager.post(f"/proxy-orders/{upcoming['id']}/resume")
    assert r.status_code == 200 and r.data["state"] == "pending"

    shop.close_open_cycle()
    r = shop.manager.post(f"/proxy-orders/{proxy['id']}/cancel")
    assert r.status_code == 409 and r.data["detail"], r.data
    r = shop.manager.post(f"/proxy-orders/{proxy['id']}/resume")
    assert r.status_code == 409 and r.data["detail"], r.data
    assert shop.proxy_in(sub["id"], shop.open_cycle["id"])["state"] in {"placed", "confirmed"}


def test_scenario_5_deletions_refused_while_in_use(shop):
    """A schedule used by a subscription and a customer with an active subscription cannot
    be deleted (409 with a detail); both still answer afterwards. A customer without
    subscriptions is deleted (204) and then answers 404."""
    sub = shop.subscribe("alice", {"eggs": 1})
    r = shop.manager.delete(f"/schedules/{shop.schedule_id}")
    assert r.status_code == 409 and r.data["detail"], r.data
    assert shop.manager.get(f"/schedules/{shop.schedule_id}").status_code == 200
    customer = shop.customers["alice"]
    r = shop.manager.delete(f"/customers/{customer}")
    assert r.status_code == 409 and r.data["detail"], r.data
    assert shop.manager.get(f"/customers/{customer}").status_code == 200

    # Once canceled, the rule no longer applies; whether the row is then kept for the record
    # (orders and past subscriptions refer to it) is left to the implementation.
    r = shop.manager.post(f"/subscriptions/{sub['id']}/cancel", {"open_orders": "keep"})
    assert r.status_code == 200, r.data
    assert shop.manager.delete(f"/customers/{customer}").status_code in {204, 409}
    # A schedule no subscription uses can be deleted.
    r = shop.manager.post(f"/enterprises/{shop.id}/schedules", {"name": "Spare"})
    assert r.status_code == 201, r.data
    assert shop.manager.delete(f"/schedules/{r.data['id']}").status_code == 204
    assert shop.manager.get(f"/schedules/{r.data['id']}").status_code == 404
    # A customer without subscriptions goes at once.
    assert shop.manager.delete(f"/customers/{shop.customers['bob']}").status_code == 204
    assert shop.manager.get(f"/customers/{shop.customers['bob']}").status_code == 404


# --- 6. bad input ----------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    from cadence.catalog.models import Product, Variant
    from cadence.customers.models import Customer
    from cadence.cycles.models import OrderCycle, Schedule
    from cadence.enterprises.models import Enterprise
    from cadence.orders.models import Order
    from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem

    models = (
        Enterprise,
        Product,
        Variant,
        Customer,
        OrderCycle,
        Schedule,
        Subscription,
        SubscriptionLineItem,
        ProxyOrder,
        Order,
    )
    return {m.__name__: m.objects.count() for m in models}


def test_scenario_6_bad_input_is_422_naming_the_field_and_writes_nothing(shop, staff, cli, api_as):
    """Malformed JSON, wrong types, zero or negative quantities, unknown ids, another shop's
    ids, ends_at before begins_at and page_size=501 answer 422 with errors keyed by the
    field (never 500), and no row is written."""
    other = make_shop(staff, cli, api_as, name="Other Hub", manager_email="olga@other.test")
    m = shop.manager
    subs = f"/enterprises/{shop.id}/subscriptions"
    now = timezone.now()
    good = {
        "customer_id": shop.customers["alice"],
        "schedule_id": shop.schedule_id,
        "payment_method_id": shop.payment_id,
        "shipping_method_id": shop.shipping_id,
        "begins_at": iso(now),
        "line_items": [{"variant_id": shop.variants["box"], "quantity": 1}],
    }

    def line(**kw):
        return {**good, "line_items": [{"variant_id": shop.variants["box"], "quantity": 1, **kw}]}

    existing = shop.subscribe("bob", {"eggs": 1})
    before = _row_counts()
    cases = [
        ("post", subs, None, "{not json", "__all__"),
        ("post", subs, {**good, "customer_id": "abc"}, None, "customer_id"),
        ("post", subs, {**good, "begins_at": "next tuesday"}, None, "begins_at"),
        ("post", subs, {**good, "line_items": "box"}, None, "line_items"),
        ("post", subs, {**good, "line_items": []}, None, "line_items"),
        ("post", subs, line(quantity=0), None, ("line_items", "quantity")),
        ("post", subs, line(quantity=-3), None, ("line_items", "quantity")),
        ("post", subs, line(quantity="two"), None, ("line_items", "quantity")),
        ("post", subs, line(variant_id=999_999), None, "line_items"),
        ("post", subs, line(variant_id=other.variants["box"]), None, "line_items"),
        ("post", subs, {**good, "customer_id": 999_999}, None, "customer_id"),
        ("post", subs, {**good, "customer_id": other.customers["alice"]}, None, "customer_id"),
        ("post", subs, {**good, "schedule_id": other.schedule_id}, None, "schedule_id"),
        ("post", subs, {**good, "payment_method_id": other.payment_id}, None, "payment_method_id"),
        (
            "post",
            subs,
            {**good, "shipping_method_id": other.shipping_id},
            None,
            "shipping_method_id",
        ),
        (
            "post",
            subs,
            {**good, "ends_at": iso(now - timedelta(days=1))},
            None,
            "ends_at",
        ),
        (
            "post",
            subs,
            {
                **good,
                "line_items": [
                    {"variant_id": shop.variants["box"], "quantity": 1},
                    {"variant_id": shop.variants["box"], "quantity": 2},
                ],
            },
            None,
            "line_items",
        ),
        ("post", subs, {k: v for k, v in good.items() if k != "schedule_id"}, None, "schedule_id"),
        (
            "patch",
            f"/subscriptions/{existing['id']}",
            {"ends_at": iso(now - timedelta(days=3))},
            None,
            "ends_at",
        ),
        (
            "patch",
            f"/subscriptions/{existing['id']}",
            {"line_items": [{"variant_id": shop.variants["eggs"], "quantity": 0}]},
            None,
            ("line_items", "quantity"),
        ),
        ("patch", f"/subscriptions/{existing['id']}", None, "[1, 2", "__all__"),
        (
            "post",
            f"/enterprises/{shop.id}/customers",
            {"first_name": "Nobody"},
            None,
            "email",
        ),
        (
            "post",
            f"/enterprises/{shop.id}/products",
            {"name": "Bad", "variants": [{"name": "x", "price": "-1.00"}]},
            None,
            "price",
        ),
        (
            "post",
            f"/enterprises/{shop.id}/order-cycles",
            {
                "name": "Backwards",
                "opens_at": iso(now + timedelta(days=3)),
                "closes_at": iso(now + timedelta(days=1)),
            },
            None,
            "closes_at",
        ),
        (
            "post",
            f"/enterprises/{shop.id}/order-cycles",
            {
                "name": "Foreign",
                "opens_at": iso(now + timedelta(days=3)),
                "closes_at": iso(now + timedelta(days=4)),
                "variant_ids": [999_999],
            },
            None,
            "variant_ids",
        ),
        (
            "post",
            f"/enterprises/{shop.id}/schedules",
            {"name": "Foreign", "order_cycle_ids": [other.open_cycle["id"]]},
            None,
            "order_cycle_ids",
        ),
        (
            "patch",
            f"/enterprises/{shop.id}",
            {"allocation_policy": "lottery"},
            None,
            "allocation_policy",
        ),
        ("patch", f"/variants/{shop.variants['box']}", {"on_hand": -1}, None, "on_hand"),
        (
            "post",
            f"/enterprises/{shop.id}/payment-methods",
            {"name": "Gold", "kind": "barter"},
            None,
            "kind",
        ),
    ]
    # Values the schemas accept but the database cannot hold are still invalid input.
    huge = 10**20
    cases += [
        (
            "post",
            f"/enterprises/{shop.id}/schedules",
            {"name": "Huge", "order_cycle_ids": [huge]},
            None,
            ("order_cycle_ids", "__all__"),
        ),
        (
            "post",
            f"/enterprises/{shop.id}/products",
            {"name": "Huge", "variants": [{"price": "1.00", "on_hand": huge}]},
            None,
            ("on_hand", "__all__"),
        ),
        ("post", subs, {**good, "customer_id": huge}, None, "customer_id"),
        (
            "post",
            subs,
            {**good, "line_items": [{"variant_id": huge, "quantity": 1}]},
            None,
            ("line_items", "variant_id", "__all__"),
        ),
    ]
    for method, path, body, raw, expected in cases:
        r = getattr(m, method)(path, body, raw=raw)
        assert r.status_code == 422, (method, path, body, raw, r.status_code, r.content[:300])
        assert set(r.data) == {"errors"}, r.data
        errors = r.data["errors"]
        wanted = expected if isinstance(expected, tuple) else (expected,)
        assert any(key in errors for key in wanted), (path, body, raw, errors)
        for messages in errors.values():
            assert messages and all(isinstance(x, str) and x for x in messages)

    for path in (subs, f"/enterprises/{shop.id}/orders", "/enterprises"):
        r = m.get(path, page_size=501)
        assert r.status_code == 422 and "page_size" in r.data["errors"], (path, r.data)
        r = m.get(path, page=0)
        assert r.status_code == 422 and "page" in r.data["errors"], (path, r.data)
    assert m.get(subs, page_size=500).status_code == 200
    for path, query in (
        (subs, {"schedule_id": huge}),
        (f"/enterprises/{shop.id}/orders", {"order_cycle_id": huge}),
        (f"/enterprises/{shop.id}/orders", {"page": huge}),
    ):
        r = m.get(path, **query)
        assert r.status_code in {200, 422}, (path, query, r.status_code)
    r = m.get(f"/enterprises/{shop.id}/orders", state="exploded")
    assert r.status_code == 422 and "state" in r.data["errors"]

    assert _row_counts() == before
    # A NUL character: PostgreSQL cannot store it (422), SQLite can; never a 500.
    r = m.post(
        f"/enterprises/{shop.id}/products", {"name": "Nul\u0000", "variants": [{"price": "1"}]}
    )
    assert r.status_code in {201, 422}, r.status_code
    # The existing subscription is untouched.
    detail = m.get(f"/subscriptions/{existing['id']}").data
    assert detail["ends_at"] is None
    assert [(li["variant_id"], li["quantity"]) for li in detail["line_items"]] == [
        (shop.variants["eggs"], 1)
    ]


def test_scenario_6_unknown_objects_are_404_and_bad_tokens_401(shop, api_as):
    """Ids that do not exist answer 404 with a detail; no or a bad token answers 401."""
    for path in (
        "/subscriptions/999999",
        "/orders/999999",
        "/customers/999999",
        "/order-cycles/999999",
        "/schedules/999999",
        "/enterprises/999999",
        "/subscriptions/999999/proxy-orders",
    ):
        r = shop.manager.get(path)
        assert r.status_code == 404 and r.data["detail"], (path, r.data)
    r = shop.manager.post("/proxy-orders/999999/cancel")
    assert r.status_code == 404
    assert api_as(None).get("/enterprises").status_code == 401
    assert api_as("cad_not-a-token").get("/enterprises").status_code == 401
    assert api_as("cad_not-a-token").get("/me/orders").status_code == 401


# --- 7. tenancy ------------------------------------------------------------------------------


def test_scenario_7_another_shops_manager_gets_404_everywhere(shop, staff, cli, api_as, buyer):
    """The manager of another shop gets 404 on every object of the first shop, for reads and
    writes alike, and nothing changes; a buyer's token reaches only /me; a non-staff user
    cannot create enterprises (403)."""
    sub = shop.subscribe("alice", {"box": 1})
    cli.tick()
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    other = make_shop(staff, cli, api_as, name="Other Hub", manager_email="olga@other.test")
    intruder = other.manager

    r = intruder.get("/enterprises")
    assert [e["id"] for e in r.data["items"]] == [other.id]
    r = staff.get("/enterprises")
    assert {shop.id, other.id} <= {e["id"] for e in r.data["items"]}
    # Staff (operators) see every shop's objects.
    assert staff.get(f"/subscriptions/{sub['id']}").status_code == 200
    assert staff.get(f"/orders/{proxy['order_id']}").status_code == 200

    reads = [
        f"/enterprises/{shop.id}",
        f"/enterprises/{shop.id}/products",
        f"/enterprises/{shop.id}/subscriptions",
        f"/enterprises/{shop.id}/orders",
        f"/customers/{shop.customers['alice']}",
        f"/order-cycles/{shop.open_cycle['id']}",
        f"/order-cycles/{shop.open_cycle['id']}/forecast",
        f"/schedules/{shop.schedule_id}",
        f"/subscriptions/{sub['id']}",
        f"/subscriptions/{sub['id']}/proxy-orders",
        f"/orders/{proxy['order_id']}",
    ]
    writes = [
        ("patch", f"/enterprises/{shop.id}", {"name": "Mine now"}),
        ("post", f"/enterprises/{shop.id}/managers", {"email": "olga@other.test"}),
        ("post", f"/enterprises/{shop.id}/products", {"name": "X", "variants": [{"price": "1"}]}),
        ("post", f"/enterprises/{shop.id}/customers", {"email": "x@example.org"}),
        ("patch", f"/variants/{shop.variants['box']}", {"price": "0.01"}),
        ("delete", f"/variants/{shop.variants['box']}", None),
        ("patch", f"/customers/{shop.customers['alice']}", {"first_name": "Eve"}),
        ("delete", f"/customers/{shop.customers['bob']}", None),
        ("patch", f"/order-cycles/{shop.open_cycle['id']}", {"name": "Hijacked"}),
        ("patch", f"/schedules/{shop.schedule_id}", {"name": "Hijacked"}),
        ("delete", f"/schedules/{shop.schedule_id}", None),
        ("patch", f"/subscriptions/{sub['id']}", {"ends_at": None}),
        ("post", f"/subscriptions/{sub['id']}/pause", {"open_orders": "cancel"}),
        ("post", f"/subscriptions/{sub['id']}/cancel", {"open_orders": "cancel"}),
        ("post", f"/proxy-orders/{proxy['id']}/cancel", {}),
        ("post", f"/proxy-orders/{proxy['id']}/resume", {}),
    ]
    before = _row_counts()
    for path in reads:
        r = intruder.get(path)
        assert r.status_code == 404, (path, r.status_code, r.data)
    for method, path, body in writes:
        r = intruder.delete(path) if method == "delete" else getattr(intruder, method)(path, body)
        assert r.status_code == 404, (method, path, r.status_code, r.data)
    # Creating a subscription in one's own shop with the first shop's objects: 422.
    r = intruder.post(
        f"/enterprises/{other.id}/subscriptions",
        {
            "customer_id": shop.customers["alice"],
            "schedule_id": shop.schedule_id,
            "payment_method_id": shop.payment_id,
            "shipping_method_id": shop.shipping_id,
            "begins_at": iso(timezone.now()),
            "line_items": [{"variant_id": shop.variants["box"], "quantity": 1}],
        },
    )
    assert r.status_code == 422
    assert {"customer_id", "schedule_id", "payment_method_id", "shipping_method_id"} <= set(
        r.data["errors"]
    )
    assert _row_counts() == before
    assert shop.manager.get(f"/enterprises/{shop.id}").data["name"] == "Green Valley Hub"
    assert shop.order(proxy["order_id"])["state"] == "complete"

    # A buyer's token: /me only.
    assert buyer.get("/enterprises").data["items"] == []
    for path in reads:
        assert buyer.get(path).status_code == 404, path
    r = buyer.post("/enterprises", {"name": "Buyer's shop"})
    assert r.status_code == 403 and r.data["detail"]
    r = intruder.post("/enterprises", {"name": "Manager's shop"})
    assert r.status_code == 403
    assert buyer.get("/me/orders").data["count"] == 1


# --- 8. the buyer ----------------------------------------------------------------------------


def test_scenario_8_the_buyer_api(shop, cli, buyer, api_as):
    """The buyer sees their shops, orders (with changes_allowed_until, the cycle's close) and
    subscriptions under /me; skips and resumes a delivery; lowers a line and cancels their
    order while the shop allows changes; gets 403 once it does not, and 409 once the cycle
    has closed. Another buyer sees none of it."""
    sub = shop.subscribe("alice", {"box": 2, "eggs": 2})
    shop.subscribe("bob", {"eggs": 1})
    cli.tick()

    r = buyer.get("/me/shops")
    assert r.status_code == 200, r.data
    assert [(s["shop_id"], s["name"], s["allow_charges"]) for s in r.data] == [
        (shop.id, "Green Valley Hub", False)
    ]

    # No saved card: consent cannot be given.
    r = buyer.patch(f"/me/shops/{shop.id}", {"allow_charges": True})
    assert r.status_code == 422 and r.data["errors"], r.data
    assert buyer.get("/me/cards").data == []

    r = buyer.get("/me/orders")
    assert r.status_code == 200 and r.data["count"] == 1, r.data
    mine = r.data["items"][0]
    assert mine["state"] == "complete" and is_money(mine["total"])
    until = mine["changes_allowed_until"]
    assert has_offset(until)
    assert datetime.fromisoformat(until) == datetime.fromisoformat(shop.open_cycle["closes_at"])
    order_id = mine["id"]

    r = buyer.get("/me/subscriptions")
    assert r.status_code == 200 and r.data["count"] == 1, r.data
    assert r.data["items"][0]["id"] == sub["id"]

    upcoming = shop.proxy_in(sub["id"], shop.upcoming_cycle["id"])
    r = buyer.post(f"/me/proxy-orders/{upcoming['id']}/cancel")
    assert r.status_code == 200 and r.data["state"] == "canceled", r.data
    assert shop.proxy_in(sub["id"], shop.upcoming_cycle["id"])["state"] == "canceled"
    r = buyer.post(f"/me/proxy-orders/{upcoming['id']}/resume")
    assert r.status_code == 200 and r.data["state"] == "pending", r.data

    # Bob's order and delivery are not Alice's.
    bob_sub = shop.manager.get(f"/enterprises/{shop.id}/subscriptions", q="bob").data["items"][0]
    bob_proxy = shop.proxy_in(bob_sub["id"], shop.open_cycle["id"])
    assert buyer.patch(f"/me/orders/{bob_proxy['order_id']}", {"line_items": []}).status_code == 404
    assert buyer.post(f"/me/proxy-orders/{bob_proxy['id']}/cancel").status_code == 404
    assert buyer.post(f"/me/orders/{bob_proxy['order_id']}/cancel").status_code == 404

    # Only lower or remove: raising is refused with 422, nothing changes.
    r = buyer.patch(
        f"/me/orders/{order_id}",
        {"line_items": [{"variant_id": shop.variants["box"], "quantity": 5}]},
    )
    assert r.status_code == 422 and r.data["errors"], r.data
    assert shop.on_hand("box") == 8
    r = buyer.patch(
        f"/me/orders/{order_id}",
        {"line_items": [{"variant_id": shop.variants["box"], "quantity": 1}]},
    )
    assert r.status_code == 200, r.data
    assert shop.on_hand("box") == 9

    # The shop stops allowing changes: 403 for every buyer change.
    assert (
        shop.manager.patch(f"/enterprises/{shop.id}", {"allow_order_changes": False}).status_code
        == 200
    )
    r = buyer.patch(
        f"/me/orders/{order_id}",
        {"line_items": [{"variant_id": shop.variants["eggs"], "quantity": 1}]},
    )
    assert r.status_code == 403 and r.data["detail"], r.data
    assert buyer.post(f"/me/orders/{order_id}/cancel").status_code == 403
    assert buyer.post(f"/me/proxy-orders/{upcoming['id']}/cancel").status_code == 403
    assert shop.on_hand("eggs") == 17

    # Allowed again; the buyer cancels the order; once the cycle closed: 409.
    shop.manager.patch(f"/enterprises/{shop.id}", {"allow_order_changes": True})
    r = buyer.post(f"/me/orders/{order_id}/cancel")
    assert r.status_code == 200 and r.data["state"] == "canceled", r.data
    assert shop.on_hand("box") == 10 and shop.on_hand("eggs") == 19
    shop.close_open_cycle()
    r = buyer.patch(
        f"/me/orders/{bob_proxy['order_id']}",
        {"line_items": []},
    )
    assert r.status_code == 404
    proxy = shop.proxy_in(sub["id"], shop.open_cycle["id"])
    assert buyer.post(f"/me/proxy-orders/{proxy['id']}/resume").status_code == 409

    # Bob, once he has an account, sees his own order only.
    code, _out, err = cli("user", "create", "bob@example.org")
    assert code == 0, err
    bob = api_as(cli.token("bob@example.org"))
    r = bob.get("/me/orders")
    assert [o["id"] for o in r.data["items"]] == [bob_proxy["order_id"]]
    r = bob.patch(
        f"/me/orders/{bob_proxy['order_id']}",
        {"line_items": [{"variant_id": shop.variants["eggs"], "quantity": 0}]},
    )
    assert r.status_code == 409 and r.data["detail"], r.data


# --- more rules seen from outside ------------------------------------------------------------


def test_scenario_2_placement_uses_current_prices_and_gives_nothing_unavailable(shop, cli):
    """Orders use the price in force at placement; a deleted variant and a variant the cycle
    does not offer get quantity 0 (asked quantity kept), and neither breaks the subscription
    page: their lines show as unavailable."""
    sub = shop.subscribe("alice", {"box": 2, "eggs": 1, "honey": 1})
    r = shop.manager.patch(f"/variants/{shop.variants['eggs']}", {"price": "4.40"})
    assert r.status_code == 200 and r.data["price"] == "4.40", r.data
    offered = [shop.variants[k] for k in ("box", "eggs", "jam")]
    r = shop.manager.patch(f"/order-cycles/{shop.open_cycle['id']}", {"variant_ids": offered})
    assert r.status_code == 200 and sorted(r.data["variant_ids"]) == sorted(offered), r.data
    assert shop.manager.delete(f"/variants/{shop.variants['box']}").status_code == 204

    r = shop.manager.get(f"/subscriptions/{sub['id']}")
    assert r.status_code == 200, r.data
    available = {li["variant_id"]: li["available"] for li in r.data["line_items"]}
    assert available[shop.variants["box"]] is False
    assert available[shop.variants["eggs"]] is True
    assert all(is_money(v) for v in r.data["estimates"].values())

    cli.tick()
    order_id = shop.proxy_in(sub["id"], shop.open_cycle["id"])["order_id"]
    assert order_id
    order = shop.order(order_id)
    lines = {li["variant_id"]: li for li in order["line_items"]}
    assert (lines[shop.variants["eggs"]]["quantity"], lines[shop.variants["eggs"]]["price"]) == (
        1,
        "4.40",
    )
    for key, asked in (("box", 2), ("honey", 1)):
        line = lines[shop.variants[key]]
        assert (line["quantity"], line["requested_quantity"]) == (0, asked), (key, line)
    assert order["item_total"] == "4.40"
    assert shop.on_hand("honey") == 5


def test_scenario_1_status_pending_and_ended(shop):
    """Status is derived: a subscription beginning after the open cycle closes is `pending`
    and gets a proxy order only in the upcoming cycle; one whose end has passed is `ended`
    and gets none."""
    closes = datetime.fromisoformat(shop.open_cycle["closes_at"])
    later = shop.subscribe("alice", {"eggs": 1}, begins_at=iso(closes + timedelta(hours=1)))
    assert later["status"] == "pending"
    assert [p["order_cycle_id"] for p in shop.proxy_orders(later["id"])] == [
        shop.upcoming_cycle["id"]
    ]
    now = timezone.now()
    past = shop.subscribe(
        "bob",
        {"eggs": 1},
        begins_at=iso(now - timedelta(days=20)),
        ends_at=iso(now - timedelta(days=1)),
    )
    assert past["status"] == "ended"
    assert shop.proxy_orders(past["id"]) == []
    r = shop.manager.get(f"/enterprises/{shop.id}/subscriptions", status="pending")
    assert [s["id"] for s in r.data["items"]] == [later["id"]]


def test_scenario_1_payment_method_must_be_manual_or_usable_stripe(shop):
    """A payment method of kind `other` cannot be used by a subscription, and a Stripe method
    is refused for a customer without an account, card and consent: 422 naming the field,
    nothing written."""
    before = _row_counts()
    base = {
        "customer_id": shop.customers["alice"],
        "schedule_id": shop.schedule_id,
        "shipping_method_id": shop.shipping_id,
        "begins_at": iso(timezone.now()),
        "line_items": [{"variant_id": shop.variants["eggs"], "quantity": 1}],
    }
    for kind in ("other", "stripe"):
        r = shop.manager.post(
            f"/enterprises/{shop.id}/payment-methods", {"name": f"By {kind}", "kind": kind}
        )
        assert r.status_code == 201 and r.data["kind"] == kind, r.data
        r = shop.manager.post(
            f"/enterprises/{shop.id}/subscriptions", {**base, "payment_method_id": r.data["id"]}
        )
        assert r.status_code == 422, r.data
        assert {"payment_method_id", "customer_id"} & set(r.data["errors"]), r.data
    after = _row_counts()
    assert after.pop("Subscription") == before.pop("Subscription")
    assert after == before


def test_scenario_3_forecast_rows(shop):
    """The forecast of a cycle lists, per variant, what active subscriptions will ask,
    by producer, against stock, with the shortfall."""
    shop.subscribe("alice", {"honey": 4, "eggs": 2})
    shop.subscribe("bob", {"honey": 3})
    r = shop.manager.get(f"/order-cycles/{shop.upcoming_cycle['id']}/forecast")
    assert r.status_code == 200, r.data
    rows = {row["variant_id"]: row for row in r.data}
    for row in r.data:
        assert {"variant_id", "producer_id", "requested", "on_hand", "shortfall"} <= set(row)
    honey = rows[shop.variants["honey"]]
    assert (honey["producer_id"], honey["requested"], honey["on_hand"], honey["shortfall"]) == (
        shop.id,
        7,
        5,
        2,
    )
    eggs = rows[shop.variants["eggs"]]
    assert (eggs["requested"], eggs["shortfall"]) == (2, 0)


def test_scenario_7_suppliers_need_the_producers_consent(shop, staff, cli, api_as):
    """A shop may sell a producer's variants only once staff (or a manager of both) adds the
    permission: a manager of the shop alone gets 403, the producer's variant is refused on a
    subscription until then, and accepted after."""
    r = staff.post("/enterprises", {"name": "Hill Farm", "is_shop": False, "is_producer": True})
    assert r.status_code == 201, r.data
    farm_id = r.data["id"]
    assert (
        staff.post(f"/enterprises/{farm_id}/managers", {"email": "fred@farm.test"}).status_code
        == 201
    )
    farmer = api_as(cli.token("fred@farm.test"))
    r = farmer.post(
        f"/enterprises/{farm_id}/products",
        {"name": "Cheese", "variants": [{"name": "250 g", "price": "6.00", "on_hand": 9}]},
    )
    assert r.status_code == 201, r.data
    cheese = r.data["variants"][0]["id"]
    assert shop.manager.get(f"/enterprises/{farm_id}").status_code == 404

    body = {
        "customer_id": shop.customers["alice"],
        "schedule_id": shop.schedule_id,
        "payment_method_id": shop.payment_id,
        "shipping_method_id": shop.shipping_id,
        "begins_at": iso(timezone.now()),
        "line_items": [{"variant_id": cheese, "quantity": 1}],
    }
    r = shop.manager.post(f"/enterprises/{shop.id}/subscriptions", body)
    assert r.status_code == 422 and "line_items" in r.data["errors"], r.data

    r = shop.manager.post(f"/enterprises/{shop.id}/suppliers", {"producer_id": farm_id})
    assert r.status_code == 403 and r.data["detail"], r.data
    r = staff.post(f"/enterprises/{shop.id}/suppliers", {"producer_id": farm_id})
    assert r.status_code == 201, r.data

    r = shop.manager.post(f"/enterprises/{shop.id}/subscriptions", body)
    assert r.status_code == 201, r.data


def test_openapi_description_is_served(api_as):
    """The OpenAPI description lists the documented paths."""
    r = api_as(None).client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = json.loads(r.content)["paths"]
    for path in (
        "/api/v1/enterprises",
        "/api/v1/enterprises/{enterprise_id}/subscriptions",
        "/api/v1/subscriptions/{subscription_id}/proxy-orders",
        "/api/v1/proxy-orders/{proxy_order_id}/resume",
        "/api/v1/orders/{order_id}",
        "/api/v1/me/orders",
    ):
        assert path in paths, path


def test_scenario_4_proxy_orders_follow_schedule_cycle_and_subscription_changes(shop, cli):
    """Proxy orders are synced after every change: a cycle added to the schedule gets one, a
    cycle removed loses its pending one, an end date before a cycle's close removes it; the
    placed one stays. A new shipping method is carried to the placed order's fees."""
    sub = shop.subscribe("alice", {"eggs": 2})
    cli.tick()
    now = timezone.now()
    r = shop.manager.post(
        f"/enterprises/{shop.id}/order-cycles",
        {
            "name": "In a fortnight",
            "opens_at": iso(now + timedelta(days=12)),
            "closes_at": iso(now + timedelta(days=14)),
            "variant_ids": [shop.variants["eggs"]],
        },
    )
    assert r.status_code == 201, r.data
    third = r.data["id"]
    cycles = [shop.open_cycle["id"], shop.upcoming_cycle["id"], third]
    r = shop.manager.patch(f"/schedules/{shop.schedule_id}", {"order_cycle_ids": cycles})
    assert r.status_code == 200 and sorted(r.data["order_cycle_ids"]) == sorted(cycles), r.data
    assert sorted(p["order_cycle_id"] for p in shop.proxy_orders(sub["id"])) == sorted(cycles)

    r = shop.manager.patch(
        f"/schedules/{shop.schedule_id}", {"order_cycle_ids": [shop.open_cycle["id"], third]}
    )
    assert r.status_code == 200, r.data
    assert sorted(p["order_cycle_id"] for p in shop.proxy_orders(sub["id"])) == sorted(
        [shop.open_cycle["id"], third]
    )

    r = shop.manager.patch(
        f"/subscriptions/{sub['id']}", {"ends_at": iso(now + timedelta(days=13))}
    )
    assert r.status_code == 200, r.data
    proxies = shop.proxy_orders(sub["id"])
    assert [(p["order_cycle_id"], p["state"]) for p in proxies] == [
        (shop.open_cycle["id"], "placed")
    ]

    order_id = proxies[0]["order_id"]
    fee_before = Decimal(shop.order(order_id)["fee_total"])
    r = shop.manager.post(
        f"/enterprises/{shop.id}/shipping-methods",
        {"name": "Pick-up", "description": "At the farm", "fee": "0.00", "requires_address": False},
    )
    assert r.status_code == 201, r.data
    r = shop.manager.patch(f"/subscriptions/{sub['id']}", {"shipping_method_id": r.data["id"]})
    assert r.status_code == 200 and r.data["order_update_issues"] == [], r.data
    order = shop.order(order_id)
    assert Decimal(order["fee_total"]) == fee_before - Decimal("3.00")
    assert order["payments"][0]["amount"] == order["total"]


def test_scenario_1_naive_datetimes_and_a_variant_in_no_cycle(shop):
    """A datetime without an offset is read in the shop's time zone and answered with the
    offset; a variant in no open or upcoming cycle of the schedule is accepted (the line shows
    as unavailable) rather than refused."""
    r = shop.manager.post(
        f"/enterprises/{shop.id}/products",
        {"name": "Kale", "variants": [{"name": "Bunch", "price": "2.00", "on_hand": 5}]},
    )
    assert r.status_code == 201, r.data
    kale = r.data["variants"][0]["id"]
    begins = "2026-01-15T08:00:00"
    r = shop.manager.post(
        f"/enterprises/{shop.id}/subscriptions",
        {
            "customer_id": shop.customers["bob"],
            "schedule_id": shop.schedule_id,
            "payment_method_id": shop.payment_id,
            "shipping_method_id": shop.shipping_id,
            "begins_at": begins,
            "line_items": [
                {"variant_id": kale, "quantity": 1},
                {"variant_id": shop.variants["eggs"], "quantity": 1},
            ],
        },
    )
    assert r.status_code == 201, r.data
    assert r.data["begins_at"] == "2026-01-15T08:00:00+01:00"
    available = {li["variant_id"]: li["available"] for li in r.data["line_items"]}
    assert available == {kale: False, shop.variants["eggs"]: True}
