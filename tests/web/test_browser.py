"""The account page in a real browser (Playwright driving Debian's Chromium): sign in, then
create an API token with the htmx-enhanced button."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from cadence.api.models import ApiToken, hash_token
from tests import factories

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch, live_server):
    if not os.path.exists(CHROMIUM):
        print(f"skipping browser test: {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; ORM calls between browser
    # steps are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
    connections.close_all()


def in_db(fn):
    """Run `fn` (ORM calls) in a thread of its own and close its connection afterwards: ORM
    calls made directly while Playwright's sync API runs would open a connection in its
    context that nothing closes, and the PostgreSQL test database could not be dropped."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def test_sign_in_and_create_a_token_in_the_page(page, live_server):
    """A manager signs in with email and password, lands on the account page listing their
    shop, and the token button swaps in the new token (the page's htmx), which the database
    knows by its digest."""

    def world():
        user = factories.user("ana@example.org", password="s3cret")
        factories.shop("Les Paniers", managers=[user])
        return user

    user = in_db(world)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ana@example.org")
    page.fill("#id_password", "s3cret")
    page.click("button[type=submit] >> text=Sign in")
    page.wait_for_url(f"{live_server.url}/account/")
    assert "Les Paniers" in page.content()

    page.click("text=Create an API token")
    raw = page.locator("#new-token").inner_text().strip()

    assert raw.startswith("cad_")
    assert page.url == f"{live_server.url}/account/"  # swapped in place, no navigation
    assert in_db(lambda: ApiToken.objects.get(user=user).digest) == hash_token(raw)
