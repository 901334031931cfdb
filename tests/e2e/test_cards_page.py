"""The buyer's card page in a real browser, with localstripe's fake Stripe.js."""

from __future__ import annotations

import pytest

from cadence.payments.models import ChargeConsent, SavedCard
from tests import factories
from tests.browser import in_db

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_save_a_card_and_allow_charges(browser_page, live_server, localstripe):
    """A buyer signs in, saves a card through Stripe Elements (a SetupIntent confirmed by
    Stripe.js), ticks "allow charges" for their shop, and the consent is stored with its text."""
    page = browser_page

    def world():
        buyer = factories.user("ann@example.org", password="secret-pw")
        shop = factories.shop("Ferme du Val")
        factories.customer(shop, "ann@example.org")
        return buyer, shop

    buyer, shop = in_db(world)

    page.goto(f"{live_server.url}/accounts/login/?next=/account/cards/")
    page.fill("#id_username", "ann@example.org")
    page.fill("#id_password", "secret-pw")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/account/cards/")

    checkbox = page.locator(f"#allow-charges-{shop.pk}")
    assert checkbox.is_disabled()
    assert page.locator("#no-default-card").is_visible()

    # localstripe's Elements are plain inputs named by their placeholder.
    page.fill("#card-element input[placeholder=number]", "4242424242424242")
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "34")
    page.fill("#card-element input[placeholder=cvc]", "123")
    page.fill("#card-element input[placeholder=postal_code]", "69003")
    page.click("#card-submit")
    page.wait_for_selector("text=Your card was saved.")

    card = in_db(lambda: SavedCard.objects.get(user=buyer))
    assert (card.last4, card.is_default, card.usable_off_session) == ("4242", True, True)
    assert page.locator(f"#card-{card.pk}").is_visible()

    checkbox = page.locator(f"#allow-charges-{shop.pk}")
    assert checkbox.is_enabled()
    checkbox.check()
    page.wait_for_selector("text=Ferme du Val may now charge your default card.")

    consent = in_db(lambda: ChargeConsent.objects.get(user=buyer, shop=shop))
    assert consent.withdrawn_at is None
    assert "Ferme du Val" in consent.text
    assert page.locator(f"#allow-charges-{shop.pk}").is_checked()
