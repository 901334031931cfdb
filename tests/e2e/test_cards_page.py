"""The buyer's card page in a real browser, with localstripe's fake Stripe.js, under the pages'
Content-Security-Policy: no page of the tour below reports a violation."""

from __future__ import annotations

import pytest

from cadence.orders.models import PaymentState
from cadence.payments.models import ChargeConsent, Payment, SavedCard
from tests.support import factories
from tests.support.browser import in_db, violations, watch_csp
from tests.support.stripe import confirm, stripe_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, email: str, password: str, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"**{next_path}")


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
    complaints = watch_csp(page)

    sign_in(page, live_server, "ann@example.org", "secret-pw", "/account/cards/")

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
    assert complaints == [] and violations(page) == []


def test_pages_load_without_a_content_security_policy_violation(
    browser_page, live_server, localstripe
):
    """A staff manager's tour: the back office's shop page (htmx, manage.js), the card page
    (Stripe.js from localstripe and its glue), the API docs (Swagger UI) and the admin. Each
    page works and the browser reports no refusal of the policy."""
    page = browser_page

    def world():
        manager = factories.user("mia@example.org", password="secret-pw", staff=True)
        shop = factories.shop("Ferme du Val", managers=[manager])
        return shop

    shop = in_db(world)
    complaints = watch_csp(page)

    sign_in(page, live_server, "mia@example.org", "secret-pw", f"/manage/{shop.pk}/")
    assert page.locator("h1").first.is_visible()
    assert violations(page) == []

    page.goto(f"{live_server.url}/account/cards/")
    page.wait_for_selector("#card-element input[placeholder=number]")  # Stripe.js ran
    assert violations(page) == []

    # Swagger UI's scripts ran (its React root rendered) and fetched the description.
    with page.expect_response("**/api/v1/openapi.json") as answer:
        page.goto(f"{live_server.url}/api/v1/docs")
    assert answer.value.ok
    page.wait_for_selector("#swagger-ui .opblock")  # the operations rendered
    assert violations(page) == []

    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#site-name")
    assert violations(page) == []

    assert complaints == []


def test_authorise_a_payment_in_the_page(browser_page, live_server, localstripe):
    """A charge that asked for 3-D Secure: the buyer opens the page, Stripe.js (localstripe's)
    runs the bank's check through the page's static glue, and the payment is recorded paid
    from what Stripe says; no policy violation on the way."""
    page = browser_page

    def world():
        w = stripe_world(card="4000002500003155")
        confirm(w)
        assert w.payment.state == PaymentState.REQUIRES_AUTHORIZATION
        return w

    w = in_db(world)
    complaints = watch_csp(page)

    sign_in(page, live_server, "ann@example.org", "pw", f"/pay/authenticate/{w.payment.pk}/")
    page.click("#authenticate")
    page.click("text=Complete authentication")  # localstripe's 3-D Secure dialog
    page.wait_for_selector("text=Thank you: your payment is complete.")

    payment = in_db(lambda: Payment.objects.get(pk=w.payment.pk))
    assert payment.state == PaymentState.PAID
    assert complaints == [] and violations(page) == []
