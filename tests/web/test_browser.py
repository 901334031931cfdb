"""The account page in a real browser (Playwright driving Debian's Chromium): sign in, then
create an API token with the htmx-enhanced button."""

from __future__ import annotations

import re

import pytest
from django.db import connections

from cadence.api.models import ApiToken, hash_token
from tests.support import factories
from tests.support.browser import chromium_page, in_db

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch, live_server):
    yield from chromium_page(monkeypatch)
    connections.close_all()


def test_sign_in_and_create_a_token_in_the_page(page, live_server):
    """A manager signs in with email and password, lands in the back office, follows the
    header's link to the account page listing their shop, and the token button swaps in the
    new token (the page's htmx), which the database knows by its digest."""

    def world():
        user = factories.user("ana@example.org", password="s3cret")
        factories.shop("Les Paniers", managers=[user])
        return user

    user = in_db(world)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ana@example.org")
    page.fill("#id_password", "s3cret")
    page.click("button[type=submit] >> text=Sign in")
    page.wait_for_url(re.compile(r".*/manage/\d+/$"))
    page.click(".site-header >> text=Account")
    page.wait_for_url(f"{live_server.url}/account/")
    assert "Les Paniers" in page.content()

    page.click("text=Create an API token")
    raw = page.locator("#new-token").inner_text().strip()

    assert raw.startswith("cad_")
    assert page.url == f"{live_server.url}/account/"  # swapped in place, no navigation
    assert in_db(lambda: ApiToken.objects.get(user=user).digest) == hash_token(raw)
