"""Revoking API tokens on the account page: one's own only, by a POST with its CSRF token,
and a revoked token is refused by the API at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from cadence.api.models import ApiToken
from cadence.api.services import api_token_create
from tests.support import factories

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_owner_revokes_a_token_and_the_api_refuses_it_at_once(client):
    """The account page lists each token with a Revoke button; pressing it deletes that token
    only, says so, and the next API request with it answers 401 while the other works."""
    user = factories.user("ana@example.org")
    revoked, revoked_raw = api_token_create(user=user)
    kept, kept_raw = api_token_create(user=user)
    assert client.get("/api/v1/enterprises", **_bearer(revoked_raw)).status_code == 200
    client.force_login(user)

    page = client.get("/account/").content.decode()
    for token in (revoked, kept):
        assert f'action="/account/tokens/{token.pk}/revoke/"' in page
    response = client.post(f"/account/tokens/{revoked.pk}/revoke/", follow=True)

    assert response.redirect_chain[-1][0].startswith("/account/")
    html = response.content.decode()
    assert f"Token {revoked.prefix}… revoked" in html
    assert list(ApiToken.objects.filter(user=user)) == [kept]
    api = Client()
    assert api.get("/api/v1/enterprises", **_bearer(revoked_raw)).status_code == 401
    assert api.get("/api/v1/enterprises", **_bearer(kept_raw)).status_code == 200


def test_revoke_button_is_a_form_with_csrf_and_no_inline_script(client):
    """Each Revoke button posts a form carrying the CSRF token; the page has no inline
    handler (the Content-Security-Policy forbids them)."""
    user = factories.user()
    token, _raw = api_token_create(user=user)
    client.force_login(user)

    html = client.get("/account/").content.decode()

    form = re.search(
        rf'<form method="post" action="/account/tokens/{token.pk}/revoke/"[^>]*>(.*?)</form>',
        html,
        re.S,
    )
    assert form, html
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert "Revoke" in form.group(1)
    assert "onclick" not in html.lower()


def test_revoke_is_refused_without_the_csrf_token(client):
    """A POST without the CSRF token (a forged cross-site form) revokes nothing."""
    user = factories.user()
    token, _raw = api_token_create(user=user)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    assert strict.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_another_users_token_answers_404_and_stays(client):
    """Revoking someone else's token answers 404, as for a token that does not exist."""
    owner = factories.user("owner@example.org")
    theirs, raw = api_token_create(user=owner)
    client.force_login(factories.user("other@example.org"))

    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/account/tokens/{theirs.pk + 1000}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert Client().get("/api/v1/enterprises", **_bearer(raw)).status_code == 200


def test_anonymous_is_sent_to_sign_in_and_get_is_refused(client):
    """Without a session the revoke URL sends to the sign-in page; a GET never revokes."""
    user = factories.user()
    token, _raw = api_token_create(user=user)

    response = client.post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.force_login(user)
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_message_in_french(client):
    """The confirmation speaks the reader's language."""
    user = factories.user()
    token, _raw = api_token_create(user=user)
    client.force_login(user)

    response = client.post(
        f"/account/tokens/{token.pk}/revoke/", follow=True, HTTP_ACCEPT_LANGUAGE="fr"
    )

    assert f"Jeton {token.prefix}… révoqué" in response.content.decode()
