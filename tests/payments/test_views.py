"""The buyer's card page without a browser: what it shows and what its forms refuse."""

from __future__ import annotations

import pytest

from cadence.payments import cards
from cadence.payments.models import ChargeConsent, SavedCard
from tests.support import factories
from tests.support.stripe import card_payment_method

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(client, localstripe):
    user = factories.user("ann@example.org")
    client.force_login(user)
    return user


def test_the_page_needs_a_signed_in_buyer(client, localstripe):
    """Anonymous visitors are sent to sign in."""
    response = client.get("/account/cards/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_allow_charges_is_disabled_with_an_explanation_without_a_default_card(client, ann):
    """No default card: the checkbox is disabled and says why; posting anyway is refused."""
    shop = factories.shop("Ferme du Val")
    factories.customer(shop, ann.email)

    page = client.get("/account/cards/").content.decode()

    assert f'id="allow-charges-{shop.pk}"' in page and "disabled" in page
    assert "Save a card and make it your default to allow a shop to charge it." in page
    assert cards.consent_text(shop) in page
    response = client.post(
        f"/account/shops/{shop.pk}/charges/", {"allow_charges": "on"}, follow=True
    )
    assert (
        "Save a card and make it your default before allowing charges." in response.content.decode()
    )
    assert not ChargeConsent.objects.exists()


def test_the_page_warns_that_changing_the_default_withdraws_consent(client, ann, localstripe):
    """With a consent given, the page warns before a default change or deletion."""
    shop = factories.shop("Ferme du Val")
    factories.customer(shop, ann.email)
    cards.card_save(user=ann, stripe_payment_method_id=card_payment_method())
    cards.consent_set(user=ann, shop=shop, allow=True)

    page = client.get("/account/cards/").content.decode()

    assert "withdraws every shop's permission" in page
    assert localstripe.base + "/js.stripe.com/v3/" in page


def test_forms_refuse_bad_card_ids_and_other_buyers_cards(client, ann, localstripe):
    """A bogus PaymentMethod id is refused with a message; another buyer's card is 404."""
    other = factories.user("bob@example.org")
    bobs = cards.card_save(user=other, stripe_payment_method_id=card_payment_method())

    response = client.post("/account/cards/", {"payment_method_id": "pm_nope"}, follow=True)

    assert "This card could not be found." in response.content.decode()
    assert client.post(f"/account/cards/{bobs.pk}/delete/").status_code == 404
    assert client.post(f"/account/cards/{bobs.pk}/default/").status_code == 404
    assert list(SavedCard.objects.values_list("user__email", flat=True)) == ["bob@example.org"]
