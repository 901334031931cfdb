"""Safe on the internet: sign-in throttled per account and address, API token guessing refused
per address, request ids on every answer, a malformed Stripe webhook refused (not a 500), the
pages' Content-Security-Policy, and passwords checked by Django's validators."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from cadence.api.auth import BearerToken
from cadence.api.models import ApiToken
from cadence.payments.models import StripeEvent
from cadence.security.backends import client_ip
from tests.support import factories
from tests.support.stripe import WEBHOOK_SECRET, signed

pytestmark = pytest.mark.django_db

LOCKOUT = "Too many failed sign-in attempts for this account from your address."
WRONG = "Please enter a correct email and password."


def sign_in(email: str, password: str, *, address: str = "203.0.113.7", **headers):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": password}, **headers)
    return client, response


# --- sign-in throttling ----------------------------------------------------------------------


def test_the_sixth_wrong_password_in_a_minute_is_refused_and_so_is_the_right_one():
    """Five wrong passwords for one account from one address are checked; after them the
    pair is locked out: the next attempt answers 429 with a clear message, even with the
    right password, and nobody is signed in."""
    factories.user("ann@example.org", password="right-horse-battery")

    answers = [sign_in("ann@example.org", f"wrong-{n}")[1] for n in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert all(WRONG in r.content.decode() for r in answers)

    # The fifth wrong password reaches the limit: from now on the pair is refused.
    fifth = sign_in("ann@example.org", "wrong-5")[1]
    assert fifth.status_code == 429
    assert LOCKOUT in fifth.content.decode()

    sixth = sign_in("ann@example.org", "wrong-6")[1]
    assert sixth.status_code == 429

    client, right = sign_in("ann@example.org", "right-horse-battery")
    assert right.status_code == 429
    content = right.content.decode()
    assert LOCKOUT in content and "15 minutes" in content
    assert 'role="alert"' in content and 'id="id_username"' in content  # the sign-in page
    assert client.get("/account/").status_code == 302  # not signed in


def test_the_lockout_is_per_account_and_address():
    """Another address signs in to the locked account, and the locked address signs in to
    another account; a different case of the email is the same account."""
    factories.user("ann@example.org", password="right-horse-battery")
    factories.user("bob@example.org", password="other-horse-battery")
    for n in range(5):
        sign_in("Ann@Example.org" if n % 2 else "ann@example.org", f"wrong-{n}")
    assert sign_in("ann@example.org", "right-horse-battery")[1].status_code == 429

    _client, elsewhere = sign_in("ann@example.org", "right-horse-battery", address="198.51.100.9")
    assert elsewhere.status_code == 302

    _client, other_account = sign_in("bob@example.org", "other-horse-battery")
    assert other_account.status_code == 302


def test_the_lockout_message_speaks_french():
    """The refusal is translated like the rest of the page."""
    factories.user("ann@example.org", password="right-horse-battery")
    for n in range(5):
        sign_in("ann@example.org", f"wrong-{n}")

    response = sign_in("ann@example.org", "wrong", HTTP_ACCEPT_LANGUAGE="fr")[1]

    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.content.decode()


def test_a_successful_sign_in_starts_the_count_again():
    """Four mistakes, then the right password: the next mistakes start from zero."""
    factories.user("ann@example.org", password="right-horse-battery")
    for n in range(4):
        sign_in("ann@example.org", f"wrong-{n}")
    assert sign_in("ann@example.org", "right-horse-battery")[1].status_code == 302

    for n in range(4):
        assert sign_in("ann@example.org", f"again-{n}")[1].status_code == 200
    assert sign_in("ann@example.org", "right-horse-battery")[1].status_code == 302


def test_passwords_are_checked_by_djangos_validators():
    """Short, common or numeric passwords are refused; a long unusual one passes."""
    for weak in ("a", "password", "12345678901"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("correct-horse-battery")


# --- API token guessing ----------------------------------------------------------------------


def api_get(token: str, *, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).get(
        "/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_an_address_guessing_tokens_is_refused_with_429(settings):
    """After API_TOKEN_FAILURE_LIMIT bad tokens in a minute, the address answers 429 with
    Retry-After and a JSON detail, for any token (a right guess must not stand out); another
    address with a valid token is not affected."""
    settings.API_TOKEN_FAILURE_LIMIT = 10
    _token, valid = ApiToken.issue(factories.user())

    answers = [api_get(f"cad_guess-{n}") for n in range(10)]
    assert [r.status_code for r in answers] == [401] * 10

    refused = api_get("cad_guess-11")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "invalid token" in refused.json()["detail"]
    in_french = Client(REMOTE_ADDR="203.0.113.7").get(
        "/api/v1/enterprises", HTTP_AUTHORIZATION="Bearer cad_x", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "jeton invalide" in in_french.json()["detail"]
    # A header that is not a bearer token is a guess too.
    assert (
        Client(REMOTE_ADDR="203.0.113.7")
        .get("/api/v1/enterprises", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
        .status_code
        == 429
    )
    assert api_get(valid).status_code == 429

    assert api_get(valid, address="198.51.100.9").status_code == 200
    assert api_get("cad_guess-12", address="198.51.100.9").status_code == 401


def test_no_token_at_all_is_not_counted(settings):
    """A request without a token answers 401 but is no guess."""
    settings.API_TOKEN_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert [client.get("/api/v1/enterprises").status_code for _ in range(4)] == [401] * 4


def test_a_valid_token_costs_one_query():
    """The throttle check rides on the token lookup: a valid token recently used costs
    exactly the one query it cost before throttling."""
    token, raw = ApiToken.issue(factories.user())
    request = RequestFactory().get("/api/v1/enterprises", REMOTE_ADDR="203.0.113.7")
    BearerToken().authenticate(request, raw)  # records last_used_at

    with CaptureQueriesContext(connection) as queries:
        user = BearerToken().authenticate(request, raw)

    assert user == token.user
    assert len(queries) == 1


# --- request ids -----------------------------------------------------------------------------


def test_every_answer_carries_a_request_id(client):
    """A generated id when the client sends none or an unusable one; the client's own id when
    it is sane. Errors carry it too."""
    generated = client.get("/")["X-Request-ID"]
    assert len(generated) == 32 and generated != client.get("/")["X-Request-ID"]

    assert client.get("/", HTTP_X_REQUEST_ID="lb-4f2a.9")["X-Request-ID"] == "lb-4f2a.9"
    for bad in ("has space", "x" * 200, "new\nline", ""):
        assert client.get("/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"] not in (bad, "")

    assert client.get("/no-such-page/", HTTP_X_REQUEST_ID="r-404")["X-Request-ID"] == "r-404"
    api = client.get("/api/v1/enterprises", HTTP_X_REQUEST_ID="r-401")
    assert api.status_code == 401 and api["X-Request-ID"] == "r-401"


# --- Stripe webhooks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"object": "pi_123"},
        {"object": [1, 2]},
        "not an object",
        {"object": {"id": 42}},
        {"object": {"id": "pi_1", "metadata": "payment_id=3"}},
        {"object": {"id": "pi_1", "metadata": {"payment_id": "9" * 40}}},
    ],
)
def test_a_signed_but_malformed_event_answers_400_and_is_logged(client, settings, caplog, data):
    """A correctly signed event whose object is not what Stripe sends is refused with 400 and
    a message, logged as a warning, and not recorded as processed: never a 500."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    body, signature = signed({"id": "evt_bad_1", "type": "payment_intent.succeeded", "data": data})

    with caplog.at_level(logging.WARNING, logger="cadence.payments.webhooks"):
        response = client.post(
            "/stripe/webhook",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    if data == {"object": {"id": "pi_1", "metadata": {"payment_id": "9" * 40}}}:
        # Well-formed, for a payment we do not know: accepted and ignored.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.content.decode().startswith("Malformed event: ")
    assert not StripeEvent.objects.exists()
    [record] = [r for r in caplog.records if r.name == "cadence.payments.webhooks"]
    assert record.levelname == "WARNING" and "stripe webhook refused" in record.getMessage()


@pytest.mark.parametrize("payload", [["evt_1", "payment_intent.succeeded"], "evt_1", 42, None])
def test_a_signed_body_that_is_not_an_object_answers_400(client, settings, caplog, payload):
    """A correctly signed body that is JSON but not an object is refused like any malformed
    event: 400 with a message and a warning, never a 500."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    body, signature = signed(payload)

    with caplog.at_level(logging.WARNING, logger="cadence.payments.webhooks"):
        response = client.post(
            "/stripe/webhook",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )

    assert response.status_code == 400
    assert response.content.decode().startswith("Malformed event: ")
    assert not StripeEvent.objects.exists()
    assert any("stripe webhook refused" in r.getMessage() for r in caplog.records)


def test_a_signed_card_update_with_wrong_types_answers_400(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    body, signature = signed(
        {
            "id": "evt_card_1",
            "type": "payment_method.automatically_updated",
            "data": {"object": {"id": "pm_1", "card": {"exp_month": "twelve"}}},
        }
    )
    response = client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    assert response.status_code == 400
    assert "data.object.card.exp_month" in response.content.decode()


# --- Content-Security-Policy -----------------------------------------------------------------


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_pages_carry_a_strict_content_security_policy(client):
    """Scripts and styles from the instance only (and Stripe.js), no plugins, no framing."""
    csp = directives(client.get("/"))

    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'" and "https://js.stripe.com" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert "https://hooks.stripe.com" in csp["frame-src"]


def test_the_configured_stripe_js_origin_is_allowed(client, settings):
    """STRIPE_JS_URL pointing at a local fake adds its origin for scripts, frames and calls."""
    settings.STRIPE_JS_URL = "http://127.0.0.1:9999/js.stripe.com/v3/"
    client.force_login(factories.user())

    csp = directives(client.get("/account/cards/"))

    for name in ("script-src", "frame-src", "connect-src"):
        assert "http://127.0.0.1:9999" in csp[name]


def test_the_card_page_has_no_inline_script(client):
    """The Stripe.js glue is a static file; its values travel in data- attributes."""
    client.force_login(factories.user())

    content = client.get("/account/cards/").content.decode()

    assert "<script>" not in content and "onchange=" not in content
    assert "/static/payments/stripe-pages.js" in content
    assert 'data-setup-url="/account/cards/setup/"' in content or "data-setup-url=" in content


def test_the_api_docs_load_under_the_policy(client):
    """Swagger UI at /api/v1/docs uses the instance's static scripts only."""
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    content = response.content.decode()
    assert "swagger-ui-bundle.js" in content
    assert "<script>" not in content


def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(settings):
    """X-Forwarded-For is read only when TRUST_X_FORWARDED_FOR is on, and then only its
    right-most address (a client can write the others); an invalid one is ignored."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    assert client_ip(request) == "10.0.0.2"

    settings.TRUST_X_FORWARDED_FOR = True
    assert client_ip(request) == "203.0.113.7"
    request.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.7, not-an-address"
    assert client_ip(request) == "10.0.0.2"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None
