"""API conventions: authentication, error shapes, pagination, OpenAPI."""

from __future__ import annotations

from django.test import Client

from cadence.api.errors import field_names
from cadence.customers.models import Customer
from tests.support import factories as f


def test_missing_or_bad_token_is_401(as_user):
    """No token, a malformed header or an unknown token answer 401 with a detail."""
    shop = f.shop()
    anonymous = as_user(None)
    r = anonymous.get("/enterprises")
    assert r.status_code == 401 and "Bearer" in r.data["detail"]
    r = Client().get("/api/v1/enterprises", HTTP_AUTHORIZATION="Bearer cad_not-a-token")
    assert r.status_code == 401
    r = Client().get("/api/v1/enterprises", HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")
    assert r.status_code == 401
    assert (
        anonymous.post(f"/enterprises/{shop.pk}/customers", {"email": "a@b.c"}).status_code == 401
    )


def test_inactive_users_token_is_refused(as_user):
    """A deactivated user's token no longer authenticates."""
    user = f.user()
    client = as_user(user)
    user.is_active = False
    user.save()
    assert client.get("/enterprises").status_code == 401


def test_malformed_json_is_422_and_writes_nothing(as_user):
    """A body that is not JSON is invalid input: 422 with an `__all__` message, never 500."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    r = as_user(manager).call("post", f"/enterprises/{shop.pk}/customers", raw='{"email": ')
    assert r.status_code == 422
    assert r.data["errors"] == {"__all__": ["The request body is not valid JSON."]}
    assert not Customer.objects.exists()


def test_wrong_types_and_missing_fields_name_the_field(as_user):
    """Schema errors answer 422 keyed by the API field name."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    r = client.post(f"/enterprises/{shop.pk}/customers", {"first_name": "Ann"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["email"]
    r = client.post(f"/enterprises/{shop.pk}/products", {"name": "Kale", "variants": "many"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["variants"]
    r = client.call("post", f"/enterprises/{shop.pk}/customers", raw="[1, 2]")
    assert r.status_code == 422 and list(r.data["errors"]) == ["__all__"]


def test_field_names_give_the_top_level_the_innermost_field_and_the_dotted_path():
    """Error locations map to the API fields: a nested error under its top-level body field,
    its own name and its dotted path (0-based indexes), the body as `__all__`, a query
    parameter by its name."""
    assert field_names(("body", "payload", "line_items", 1, "quantity")) == [
        "line_items",
        "quantity",
        "line_items.1.quantity",
    ]
    assert field_names(("body", "payload", "bill_address", "city")) == [
        "bill_address",
        "city",
        "bill_address.city",
    ]
    assert field_names(("body", "payload", "line_items", 0)) == ["line_items", "line_items.0"]
    assert field_names(("body", "payload", "customer_id")) == ["customer_id"]
    assert field_names(("body", "payload")) == ["__all__"]
    assert field_names(("query", "page_size")) == ["page_size"]
    assert field_names(("query", "page")) == ["page"]


def test_pagination(as_user):
    """Lists answer {items, count}; page and page_size select the slice."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    for n in range(5):
        f.customer(shop, f"c{n}@example.org")
    client = as_user(manager)
    r = client.get(f"/enterprises/{shop.pk}/customers", page=2, page_size=2)
    assert r.status_code == 200
    assert r.data["count"] == 5
    assert [c["email"] for c in r.data["items"]] == ["c2@example.org", "c3@example.org"]
    r = client.get(f"/enterprises/{shop.pk}/customers", page=3, page_size=2)
    assert [c["email"] for c in r.data["items"]] == ["c4@example.org"]
    r = client.get(f"/enterprises/{shop.pk}/customers", page=9)
    assert r.data == {"items": [], "count": 5}
    assert len(client.get(f"/enterprises/{shop.pk}/customers").data["items"]) == 5


def test_bad_page_parameters_are_422(as_user):
    """page_size above 500 or below 1, page below 1, or not a number: 422 naming it."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    path = f"/enterprises/{shop.pk}/customers"
    for query, field in (
        ({"page_size": 501}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
    ):
        r = client.get(path, **query)
        assert r.status_code == 422, query
        assert list(r.data["errors"]) == [field]
    assert client.get(path, page_size=500).status_code == 200


def test_openapi_and_docs_are_served():
    """The OpenAPI description and the browsable docs are at the documented paths."""
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/v1/enterprises",
        "/api/v1/subscriptions/{subscription_id}",
        "/api/v1/order-cycles/{order_cycle_id}/forecast",
        "/api/v1/proxy-orders/{proxy_order_id}/resume",
    ):
        assert path in paths
    assert Client().get("/api/v1/docs").status_code == 200
