"""The API's contract at its edges: every answer under /api/v1/ is JSON (404, 405, 413 and
malformed bodies too), bodies are objects of known fields, values stay within documented
ranges and lengths, errors name the dotted path of what is wrong and come in the request's
language, and the OpenAPI document lists every status a route can answer."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cadence.catalog.models import Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle
from cadence.subscriptions.models import Subscription
from tests.support import factories as f
from tests.support.api import subscription_body, subscription_shop


@pytest.fixture
def setup(db):
    return subscription_shop()


def subscription_id(as_user, s) -> int:
    r = as_user(s["manager"]).post(
        f"/enterprises/{s['shop'].pk}/subscriptions", subscription_body(s)
    )
    assert r.status_code == 201, r.data
    return r.data["id"]


def cycle_body(**overrides) -> dict:
    return {
        "name": "Week",
        "opens_at": "2031-01-06T09:00",
        "closes_at": "2031-01-09T09:00",
        **overrides,
    }


def assert_json(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


# --- every answer is JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/nothing-here",
        "/api/v1/enterprises/1/nothing-here",
        "/api/v1/subscriptions/abc",
        "/api/v1/subscriptions/1.5",
        "/api/v1/orders/-1",
        "/api/v1/subscriptions/99999999999999999999",
        "/api/v1/me/cards/abc/default",
        "/api/v1/enterprises/",
    ],
)
def test_unknown_paths_and_ids_that_are_not_integers_answer_json_404(as_user, path):
    """A path no route has, or an id that is not a (64-bit) integer, answers 404 JSON with a
    detail, with or without a token."""
    assert "detail" in assert_json(Client().get(path), 404)
    user_client = as_user(f.user())
    response = user_client.client.get(path, **user_client.headers)
    assert "detail" in assert_json(response, 404)


def test_writes_to_unknown_paths_answer_json_404_not_a_csrf_403(as_user, db):
    """A POST or PATCH to a path no route has is a 404 like a GET (no CSRF page)."""
    client = as_user(f.user())
    for method in ("post", "patch", "delete"):
        r = client.call(method, "/enterprises/abc/managers", {"email": "a@x.org"})
        assert r.status_code == 404 and r["Content-Type"].startswith("application/json")


def test_pages_outside_the_api_keep_their_html_404(db):
    """Only /api/v1/ answers JSON: the site's pages keep their error page."""
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("put", "/enterprises", {"GET", "POST"}),
        ("delete", "/enterprises", {"GET", "POST"}),
        ("post", "/subscriptions/{sub}", {"GET", "PATCH"}),
        ("get", "/subscriptions/{sub}/pause", {"POST"}),
        ("put", "/me/cards", {"GET", "POST"}),
    ],
)
def test_a_method_a_route_does_not_have_answers_json_405_with_allow(
    as_user, setup, method, path, allowed
):
    """A known path with a method it does not have: 405 JSON, `Allow` lists the methods."""
    client = as_user(setup["manager"])
    r = client.call(method, path.format(sub=subscription_id(as_user, setup)))
    assert r.status_code == 405
    assert r["Content-Type"].startswith("application/json")
    assert r.data["detail"]
    assert {m.strip() for m in r["Allow"].split(",")} == allowed


def test_a_body_too_large_answers_json_413_and_writes_nothing(as_user, setup, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 JSON naming the limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = as_user(setup["manager"])
    body = {"email": "big@example.org", "tags": "x" * 20_000}
    r = client.post(f"/enterprises/{setup['shop'].pk}/customers", body)
    assert r.status_code == 413
    assert r["Content-Type"].startswith("application/json")
    assert "10000" in r.data["detail"]
    assert not Customer.objects.filter(email="big@example.org").exists()


@pytest.mark.parametrize("raw", ['{"email": ', "not json", "{'email': 'a@b.c'}", "\xff\xfe"])
def test_a_body_that_is_not_json_answers_json_422(as_user, setup, raw):
    """Malformed JSON is invalid input: 422 JSON under `__all__`; nothing is written."""
    r = as_user(setup["manager"]).call(
        "post", f"/enterprises/{setup['shop'].pk}/customers", raw=raw
    )
    assert r.status_code == 422
    assert r["Content-Type"].startswith("application/json")
    assert r.data["errors"] == {"__all__": ["The request body is not valid JSON."]}
    assert not Customer.objects.exclude(pk=setup["customer"].pk).exists()


# --- a body is an object of known fields ---------------------------------------------------


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", '"text"', "12", "true", "null"])
def test_a_body_that_is_not_an_object_is_422_under_all(as_user, setup, raw):
    """An array, a string, a number or a boolean instead of an object answers 422 under
    `__all__`, on a PATCH too (an array is not an empty change); nothing changes."""
    client = as_user(setup["manager"])
    r = client.call("patch", f"/variants/{setup['kale'].pk}", raw=raw)
    assert r.status_code == 422, (raw, r.data)
    assert list(r.data["errors"]) == ["__all__"]
    r = client.call("post", f"/enterprises/{setup['shop'].pk}/customers", raw=raw)
    assert r.status_code == 422, (raw, r.data)
    assert "__all__" in r.data["errors"]


def test_an_object_instead_of_a_list_names_the_field(as_user, setup):
    """`line_items` given as an object (or a line given as a list) names the field."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/subscriptions"
    line = {"variant_id": setup["kale"].pk, "quantity": 1}
    r = client.post(path, subscription_body(setup, line_items=line))
    assert r.status_code == 422 and list(r.data["errors"]) == ["line_items"]
    r = client.post(path, subscription_body(setup, line_items=[line, [1, 2]]))
    assert r.status_code == 422 and list(r.data["errors"]) == ["line_items", "line_items.1"]
    assert not Subscription.objects.exists()


def test_unknown_fields_are_named_at_the_top_and_inside_objects_and_lists(as_user, setup):
    """An unknown field answers 422 "Unknown field." under its name, and inside an address or
    a line also under its dotted path (list indexes 0-based); nothing is written."""
    client = as_user(setup["manager"])
    shop = setup["shop"]
    r = client.post(f"/enterprises/{shop.pk}/customers", {"email": "a@x.org", "firstname": "A"})
    assert r.status_code == 422
    assert r.data["errors"] == {"firstname": ["Unknown field."]}
    r = client.post(
        f"/enterprises/{shop.pk}/customers",
        {"email": "a@x.org", "bill_address": f.address(zipcode="69003")},
    )
    assert r.status_code == 422
    assert r.data["errors"]["bill_address.zipcode"] == ["Unknown field."]
    assert r.data["errors"]["zipcode"] == ["Unknown field."]
    assert "bill_address" in r.data["errors"]
    kale, leek = setup["kale"].pk, setup["leek"].pk
    lines = [{"variant_id": kale, "quantity": 1}, {"variant_id": leek, "quantity": 1, "qty": 2}]
    r = client.post(
        f"/enterprises/{shop.pk}/subscriptions", subscription_body(setup, line_items=lines)
    )
    assert r.status_code == 422
    assert r.data["errors"]["line_items.1.qty"] == ["Unknown field."]
    sid = subscription_id(as_user, setup)
    r = client.patch(f"/subscriptions/{sid}", {"ship_address": {"street": "1 Main St"}})
    assert r.status_code == 422
    assert r.data["errors"]["ship_address.street"] == ["Unknown field."]
    assert not Customer.objects.filter(email="a@x.org").exists()
    assert Subscription.objects.count() == 1


def test_errors_inside_lists_carry_their_dotted_path(as_user, setup):
    """`line_items.1.quantity`: the second line's quantity, besides `line_items` and
    `quantity`."""
    lines = [
        {"variant_id": setup["kale"].pk, "quantity": 1},
        {"variant_id": setup["leek"].pk, "quantity": 0},
    ]
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/subscriptions",
        subscription_body(setup, line_items=lines),
    )
    assert r.status_code == 422
    assert list(r.data["errors"]) == ["line_items", "quantity", "line_items.1.quantity"]


# --- ranges and lengths --------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, 10_000, -1, 1.5])
def test_quantities_are_whole_numbers_from_1_to_9999(as_user, setup, quantity):
    """Line quantities outside 1–9,999 are refused on create and on PATCH."""
    client = as_user(setup["manager"])
    line = [{"variant_id": setup["kale"].pk, "quantity": quantity}]
    r = client.post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup, line_items=line)
    )
    assert r.status_code == 422 and "line_items.0.quantity" in r.data["errors"]
    sid = subscription_id(as_user, setup)
    r = client.patch(f"/subscriptions/{sid}", {"line_items": line})
    assert r.status_code == 422 and "line_items.0.quantity" in r.data["errors"]
    assert [li.quantity for li in Subscription.objects.get(pk=sid).line_items.all()] == [2]


def test_quantity_9999_is_accepted(as_user, setup):
    line = [{"variant_id": setup["kale"].pk, "quantity": 9_999}]
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/subscriptions", subscription_body(setup, line_items=line)
    )
    assert r.status_code == 201, r.data
    assert r.data["line_items"][0]["quantity"] == 9_999


def test_a_buyers_order_change_takes_quantities_up_to_9999(as_user, db):
    """The buyer's order edit takes 0 (remove) to 9,999; beyond is refused by the schema."""
    client = as_user(f.user())
    r = client.patch("/me/orders/1", {"line_items": [{"variant_id": 1, "quantity": 10_000}]})
    assert r.status_code == 422 and "line_items.0.quantity" in r.data["errors"]


@pytest.mark.parametrize("on_hand", [-1, 1_000_001])
def test_stock_is_from_0_to_a_million(as_user, setup, on_hand):
    client = as_user(setup["manager"])
    kale = setup["kale"]
    r = client.patch(f"/variants/{kale.pk}", {"on_hand": on_hand})
    assert r.status_code == 422 and list(r.data["errors"]) == ["on_hand"]
    assert Variant.objects.get(pk=kale.pk).on_hand == kale.on_hand
    assert client.patch(f"/variants/{kale.pk}", {"on_hand": 1_000_000}).status_code == 200


@pytest.mark.parametrize(
    "field, length", [("address1", 255), ("address2", 255), ("city", 255), ("first_name", 100)]
)
def test_address_lines_have_a_maximum_length(as_user, setup, field, length):
    """An address line up to its maximum is stored; one character more is refused under the
    dotted path, with a message giving the limit."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/customers"
    r = client.post(path, {"email": "a@x.org", "bill_address": f.address(**{field: "x" * length})})
    assert r.status_code == 201, r.data
    assert r.data["bill_address"][field] == "x" * length
    long = f.address(**{field: "x" * (length + 1)})
    r = client.post(path, {"email": "b@x.org", "bill_address": long})
    assert r.status_code == 422
    assert r.data["errors"][f"bill_address.{field}"] == [f"Enter at most {length} characters."]
    assert not Customer.objects.filter(email="b@x.org").exists()


@pytest.mark.parametrize("opens_at", ["0027-01-06T09:00", "2300-01-06T09:00", "1899-12-31T23:00"])
def test_datetimes_outside_1900_to_2200_are_refused(as_user, setup, opens_at):
    """A cycle in year 27 or 2300 is refused on its field, with the range in the message."""
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/order-cycles", cycle_body(opens_at=opens_at)
    )
    assert r.status_code == 422
    assert r.data["errors"]["opens_at"] == [
        "Enter a date and time between the years 1900 and 2200."
    ]
    assert not OrderCycle.objects.filter(name="Week").exists()


def test_datetimes_at_the_ends_of_the_range_are_accepted(as_user, setup):
    r = as_user(setup["manager"]).post(
        f"/enterprises/{setup['shop'].pk}/order-cycles",
        cycle_body(opens_at="2200-01-06T09:00", closes_at="2200-12-31T23:00"),
    )
    assert r.status_code == 201, r.data
    assert r.data["opens_at"].startswith("2200-01-06T09:00:00+01:00")


def test_subscription_dates_outside_the_range_are_refused(as_user, setup):
    """`begins_at`, `ends_at` and a pause's `resume_on` keep to 1900–2200 too."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/subscriptions"
    r = client.post(path, subscription_body(setup, begins_at="0027-01-01T00:00"))
    assert r.status_code == 422 and list(r.data["errors"]) == ["begins_at"]
    r = client.post(path, subscription_body(setup, ends_at="2300-01-01T00:00"))
    assert r.status_code == 422 and list(r.data["errors"]) == ["ends_at"]
    sid = subscription_id(as_user, setup)
    r = client.post(f"/subscriptions/{sid}/pause", {"resume_on": "2300-01-01"})
    assert r.status_code == 422
    assert r.data["errors"]["resume_on"] == ["Enter a date between the years 1900 and 2200."]
    assert Subscription.objects.get(pk=sid).paused_at is None


# --- messages in the request's language ----------------------------------------------------

TYPE_ERRORS = [
    ({"customer_id": "1"}, "customer_id", "Enter a whole number.", "Saisissez un nombre entier."),
    ({"customer_id": None}, "customer_id", "Enter a whole number.", "Saisissez un nombre entier."),
    (
        {"begins_at": "soon"},
        "begins_at",
        "Enter a valid date and time in ISO 8601 (e.g. 2026-01-05T09:00).",
        "Saisissez une date et une heure valides au format ISO 8601 (par exemple "
        "2026-01-05T09:00).",
    ),
    (
        {"line_items": "many"},
        "line_items",
        "Enter a list (a JSON array).",
        "Saisissez une liste (un tableau JSON).",
    ),
    (
        {"bill_address": "12 Rue X"},
        "bill_address",
        "Enter an object (a JSON object of named fields).",
        "Saisissez un objet (un objet JSON aux champs nommés).",
    ),
    (
        {"line_items": [{"variant_id": 1, "quantity": 10_000}]},
        "line_items.0.quantity",
        "Enter a value of at most 9999.",
        "Saisissez une valeur d'au plus 9999.",
    ),
    ({"schedule_id": "x", "extra": 1}, "extra", "Unknown field.", "Champ inconnu."),
]


@pytest.mark.parametrize("overrides, field, english, french", TYPE_ERRORS)
def test_type_errors_come_in_the_requests_language(
    as_user, setup, overrides, field, english, french
):
    """Pydantic's own errors are translated: English by default, French with
    `Accept-Language: fr`."""
    client = as_user(setup["manager"])
    path = f"/enterprises/{setup['shop'].pk}/subscriptions"
    body = subscription_body(setup, **overrides)
    r = client.post(path, body)
    assert r.status_code == 422 and r.data["errors"][field] == [english], r.data
    client.headers["HTTP_ACCEPT_LANGUAGE"] = "fr"
    r = client.post(path, body)
    assert r.status_code == 422 and r.data["errors"][field] == [french], r.data
    assert r["Content-Language"] == "fr"


def test_missing_and_choice_errors_in_french(as_user, setup):
    client = as_user(setup["manager"])
    client.headers["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    sid = subscription_id(as_user, setup)
    r = client.post(f"/subscriptions/{sid}/cancel", {"open_orders": "maybe"})
    assert r.data["errors"]["open_orders"] == ["Saisissez l'une de ces valeurs : 'keep', 'cancel'."]
    r = client.post(f"/enterprises/{setup['shop'].pk}/customers", {})
    assert r.data["errors"]["email"] == ["Ce champ est obligatoire."]
    r = client.patch(f"/variants/{setup['kale'].pk}", {"name": "n" * 201, "on_demand": "yes"})
    assert r.data["errors"] == {
        "name": ["Saisissez au plus 200 caractères."],
        "on_demand": ["Saisissez true ou false."],
    }


def test_the_edges_answer_in_the_requests_language(as_user, setup):
    """404, 405 and malformed-body messages follow Accept-Language too."""
    client = as_user(setup["manager"])
    client.headers["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert client.get("/nothing-here").data == {"detail": "Introuvable."}
    r = client.call("put", "/enterprises")
    assert r.data == {"detail": "Cette méthode n'est pas autorisée ici."}
    r = client.call("post", f"/enterprises/{setup['shop'].pk}/customers", raw="{")
    assert r.data["errors"] == {"__all__": ["Le corps de la requête n'est pas du JSON valide."]}


def test_without_accept_language_errors_come_in_the_buyers_language(as_user, db):
    """A buyer whose customer record is in French gets French errors when the request names
    no language; a request naming one gets that one."""
    buyer = f.user()
    f.customer(f.shop(), buyer.email, user=buyer, language="fr")
    client = as_user(buyer)
    body = {"line_items": [{"variant_id": "1", "quantity": 1}]}
    r = client.patch("/me/orders/1", body)
    assert r.data["errors"]["line_items.0.variant_id"] == ["Saisissez un nombre entier."]
    client.headers["HTTP_ACCEPT_LANGUAGE"] = "en"
    r = client.patch("/me/orders/1", body)
    assert r.data["errors"]["line_items.0.variant_id"] == ["Enter a whole number."]


# --- the OpenAPI document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_openapi_lists_every_status_a_route_can_answer(openapi):
    """Table-driven over the document: 401 for every route with a token, 404 for every route
    with an id, 400/413/422 for every route with a body, 422 for every route with query
    parameters; error answers use the `Detail` and `Errors` schemas."""
    detail, errors = "#/components/schemas/Detail", "#/components/schemas/Errors"
    checked = 0
    for path, method, operation in _operations(openapi):
        responses = operation["responses"]
        expected = {"401"} if operation.get("security") else set()
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "422"}
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected.add("422")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": errors if status == "422" else detail}, (method, path)
        checked += 1
    assert checked > 40
    assert set(openapi["components"]["schemas"]["Errors"]["required"]) == {"errors"}


def test_openapi_document_has_no_repeated_key():
    """Each status appears once per operation in the JSON text itself (a repeated key makes
    Swagger UI refuse the document)."""
    repeated = []

    def keep(pairs):
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            repeated.append(keys)
        return dict(pairs)

    json.loads(Client().get("/api/v1/openapi.json").content, object_pairs_hook=keep)
    assert repeated == []


@pytest.mark.parametrize(
    "method, path, statuses",
    [
        ("get", "/api/v1/enterprises", {"200", "401", "422"}),
        ("get", "/api/v1/subscriptions/{subscription_id}", {"200", "401", "404"}),
        (
            "patch",
            "/api/v1/subscriptions/{subscription_id}",
            {"200", "400", "401", "403", "404", "409", "413", "422"},
        ),
        (
            "post",
            "/api/v1/proxy-orders/{proxy_order_id}/resume",
            {"200", "401", "403", "404", "409"},
        ),
        ("delete", "/api/v1/customers/{customer_id}", {"204", "401", "403", "404", "409"}),
        ("get", "/api/v1/me/cards", {"200", "401"}),
    ],
)
def test_openapi_statuses_of_some_routes(openapi, method, path, statuses):
    assert statuses <= set(openapi["paths"][path][method]["responses"])


def test_openapi_documents_lengths_and_ranges(openapi):
    """maxLength and minimum/maximum are in the document, as the schemas enforce them."""
    schemas = openapi["components"]["schemas"]

    def prop(schema: str, name: str) -> dict:
        field = schemas[schema]["properties"][name]
        for option in field.get("anyOf", [field]):
            if option.get("type") != "null":
                return option
        raise AssertionError(field)

    assert prop("AddressIn", "address1")["maxLength"] == 255
    assert prop("CustomerIn", "first_name")["maxLength"] == 100
    assert prop("LineIn", "quantity")["minimum"] == 1
    assert prop("LineIn", "quantity")["maximum"] == 9999
    assert prop("VariantPatch", "on_hand")["maximum"] == 1_000_000
    assert schemas["SubscriptionIn"]["additionalProperties"] is False
    assert schemas["AddressIn"]["additionalProperties"] is False
