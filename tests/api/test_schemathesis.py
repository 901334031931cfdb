"""The OpenAPI document against the running API: schemathesis generates a few requests per
operation (valid and invalid ones, deterministically) on a seeded shop, sends them with a
manager's token (a buyer's for /me), and every answer must pass all of its checks: no server
error, a documented status, content type and body, 401 without the token, 405 for other
methods…

Bounded so that it stays a part of `make test`: per operation, schemathesis' deterministic
coverage cases (boundaries, each field made invalid in turn) and `MAX_EXAMPLES` fuzzed ones;
about 3,500 requests, a minute on SQLite or PostgreSQL on two cores.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig

from cadence.api.models import ApiToken
from cadence.api.router import api
from cadence.subscriptions.services import lifecycle
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories as f

MAX_EXAMPLES = 5


@pytest.fixture
def in_transaction(db):
    """Requests run in the test's transaction: Django closes the connection after each
    request otherwise, and the test's data with it (its test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _schema():
    # The document as the API serves it; the app answers in-process (WSGI).
    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    # A body the schema allows can still be refused by the rules (an id of another shop, a
    # cycle closing before it opens): 422 is a valid answer to a valid-looking request.
    loaded.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "401", "403", "404", "409", "422", "429"]
    )
    return loaded


@pytest.fixture
def shop(db) -> dict:
    """A shop with everything a route can name: its manager and buyer tokens and the id of
    one object per path parameter."""
    manager = f.user()
    buyer = f.user()
    shop = f.shop(managers=[manager], allow_order_changes=True)
    kale = f.variant(shop, price="2.00", product_name="Kale")
    now = timezone.now()
    cycle = f.order_cycle(
        shop, opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=5), variants=[kale]
    )
    schedule = f.schedule(shop, [cycle])
    customer = f.customer(shop, buyer.email, user=buyer)
    payment_method = f.payment_method(shop)
    shipping_method = f.shipping_method(shop)
    subscription = lifecycle.subscription_create(
        shop=shop,
        customer_id=customer.pk,
        schedule_id=schedule.pk,
        payment_method_id=payment_method.pk,
        shipping_method_id=shipping_method.pk,
        begins_at=now - timedelta(days=1),
        line_items=[{"variant_id": kale.pk, "quantity": 2}],
    )
    # Its first delivery placed (as the worker would once the cycle opens), so that the
    # order routes have an order to read and the buyer one to change.
    place_cycle(order_cycle=cycle, now=cycle.opens_at + timedelta(hours=1))
    proxy = subscription.proxy_orders.first()
    assert proxy is not None and proxy.order_id is not None
    ids = {
        "enterprise_id": shop.pk,
        "shop_id": shop.pk,
        "variant_id": kale.pk,
        "product_id": kale.product_id,
        "customer_id": customer.pk,
        "order_cycle_id": cycle.pk,
        "schedule_id": schedule.pk,
        "subscription_id": subscription.pk,
        "method_id": payment_method.pk,
        "proxy_order_id": proxy.pk,
        "order_id": proxy.order_id,
        "card_id": 1,
    }
    return {
        "ids": ids,
        "manager": ApiToken.issue(manager)[1],
        "buyer": ApiToken.issue(buyer)[1],
    }


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_documented(case, shop, in_transaction, settings):
    """Every operation, a few requests each: each answer passes every check."""
    # The checks send bad tokens on purpose; the address is not to be throttled for it.
    settings.API_TOKEN_FAILURE_LIMIT = 1_000_000
    negative = set()
    if case.meta is not None:
        negative = {
            str(getattr(location, "value", location))
            for location, info in case.meta.components.items()
            if info.mode == GenerationMode.NEGATIVE
        }
    # Ids that exist, unless the path is what this request gets wrong.
    if "path" not in negative:
        for name in case.path_parameters or {}:
            if name in shop["ids"]:
                case.path_parameters[name] = shop["ids"][name]
    headers = {}
    # The token, unless the request is about a missing or malformed Authorization header.
    if "header" not in negative:
        token = shop["buyer"] if case.path.startswith("/api/v1/me") else shop["manager"]
        headers["Authorization"] = f"Bearer {token}"
    case.call_and_validate(headers=headers)
