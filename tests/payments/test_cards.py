"""Saved cards and per-shop consent, against localstripe through the real SDK."""

from __future__ import annotations

import pytest

from cadence.errors import ValidationFailed
from cadence.payments import cards
from cadence.payments.models import ChargeConsent, SavedCard, StripeCustomer
from tests.support import factories
from tests.support.stripe import card_payment_method, card_set_up_in_browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(localstripe):
    return factories.user("buyer@example.org")


def test_first_card_becomes_the_default_and_is_attached_to_the_buyers_customer(buyer, localstripe):
    """A card saved through the API is set up off-session, attached to the buyer's Stripe
    Customer, and the first one becomes the default."""
    pm_id = card_payment_method("4242424242424242")

    card = cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    card.refresh_from_db()
    assert (card.is_default, card.usable_off_session, card.last4) == (True, True, "4242")
    assert (card.brand, card.exp_month, card.exp_year) == ("visa", 12, 2034)
    customer = StripeCustomer.objects.get(user=buyer)
    pm = localstripe.request("GET", f"/v1/payment_methods/{pm_id}")
    assert pm["customer"] == customer.stripe_customer_id


def test_second_card_is_not_default_and_saving_twice_returns_the_same_card(buyer, localstripe):
    """Only the first card becomes the default; saving an already saved card is harmless."""
    first = cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    pm_id = card_payment_method("5555555555554444")
    second = cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    again = cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    assert again.pk == second.pk
    assert list(SavedCard.objects.filter(user=buyer).values_list("pk", "is_default")) == [
        (first.pk, True),
        (second.pk, False),
    ]


def test_card_set_up_by_the_page_with_3ds_is_saved_for_future_use(buyer, localstripe):
    """A card that asked for 3-D Secure while being set up in the page (SetupIntent completed
    by the buyer) is usable off-session."""
    pm_id, setup_id = card_set_up_in_browser(buyer, "4000002500003155")

    card = cards.card_save(user=buyer, stripe_payment_method_id=pm_id, setup_intent_id=setup_id)

    assert (card.is_default, card.usable_off_session) == (True, True)


def test_card_needing_authentication_is_refused_without_the_page(buyer, localstripe):
    """Through the API alone, a card whose set-up needs the buyer's authentication cannot be
    saved for future payments: 422, nothing written."""
    pm_id = card_payment_method("4000002500003155")

    with pytest.raises(ValidationFailed) as err:
        cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    assert "authenticate" in err.value.errors["stripe_payment_method_id"][0]
    assert not SavedCard.objects.exists()


@pytest.mark.parametrize(
    "pm_id", ["", "tok_visa", "pm_doesnotexist", "card_123", "pm_../../v1/customers"]
)
def test_invalid_card_ids_are_refused(buyer, localstripe, pm_id):
    """Ids that are not a Stripe card of this instance answer with a field error; nothing is
    written."""
    with pytest.raises(ValidationFailed) as err:
        cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    assert err.value.errors["stripe_payment_method_id"]
    assert not SavedCard.objects.exists()


def test_card_refused_at_set_up_is_not_saved(buyer, localstripe):
    """A card Stripe declines while setting it up is refused with the reason."""
    pm_id = card_payment_method("4000000000000002")

    with pytest.raises(ValidationFailed) as err:
        cards.card_save(user=buyer, stripe_payment_method_id=pm_id)

    assert err.value.errors == {"stripe_payment_method_id": ["Your card was declined."]}
    assert not SavedCard.objects.exists()


def test_another_buyers_card_is_refused(buyer, localstripe):
    """A card saved by one buyer cannot be saved by another, whether it is in our records or
    only attached to the other buyer's Stripe Customer."""
    other = factories.user("other@example.org")
    saved = cards.card_save(user=other, stripe_payment_method_id=card_payment_method())
    only_at_stripe = card_payment_method("5555555555554444")
    other_customer = StripeCustomer.objects.get(user=other).stripe_customer_id
    localstripe.request(
        "POST", f"/v1/payment_methods/{only_at_stripe}/attach", {"customer": other_customer}
    )

    for pm_id in (saved.stripe_payment_method_id, only_at_stripe):
        with pytest.raises(ValidationFailed) as err:
            cards.card_save(user=buyer, stripe_payment_method_id=pm_id)
        assert err.value.errors == {
            "stripe_payment_method_id": ["This card belongs to another account."]
        }
    assert not SavedCard.objects.filter(user=buyer).exists()


def test_setup_intent_of_another_buyer_is_refused(buyer, localstripe):
    """The page's SetupIntent must be the buyer's own and be for the posted card."""
    other = factories.user("other@example.org")
    pm_id, setup_id = card_set_up_in_browser(other, "4242424242424242")

    with pytest.raises(ValidationFailed):
        cards.card_save(user=buyer, stripe_payment_method_id=pm_id, setup_intent_id=setup_id)

    assert not SavedCard.objects.exists()


@pytest.fixture
def shop_with_buyer(buyer):
    shop = factories.shop("Ferme du Val")
    # The customer list has the buyer's email, in another case, and no linked account.
    factories.customer(shop, "Buyer@Example.org")
    return shop


def test_consent_is_stored_with_its_text_and_time(buyer, shop_with_buyer, localstripe):
    """Allowing charges stores the consent text shown and when it was given; allowing again
    keeps the first consent."""
    cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())

    consent = cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True, text="I agree.")
    again = cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)

    assert again.pk == consent.pk
    row = ChargeConsent.objects.get()
    assert (row.text, row.withdrawn_at is None, row.given_at is not None) == (
        "I agree.",
        True,
        True,
    )


def test_consent_without_default_card_is_refused(buyer, shop_with_buyer, localstripe):
    """No default card: 422 on allow_charges, no consent written."""
    with pytest.raises(ValidationFailed) as err:
        cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)

    assert list(err.value.errors) == ["allow_charges"]
    assert not ChargeConsent.objects.exists()


def test_consent_for_a_shop_without_the_buyer_is_refused(buyer, localstripe):
    """A shop whose customer list does not have the buyer cannot be given consent."""
    cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    stranger_shop = factories.shop("Elsewhere")
    factories.customer(stranger_shop, "someone@example.org")

    with pytest.raises(ValidationFailed) as err:
        cards.consent_set(user=buyer, shop=stranger_shop, allow=True)

    assert list(err.value.errors) == ["shop_id"]
    assert not ChargeConsent.objects.exists()


def test_changing_the_default_card_withdraws_every_consent(buyer, shop_with_buyer, localstripe):
    """Consent is for the default card: making another card the default withdraws it for
    every shop (the row stays, with withdrawn_at)."""
    cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    second = cards.card_save(
        user=buyer, stripe_payment_method_id=card_payment_method("5555555555554444")
    )
    other_shop = factories.shop("Other")
    factories.customer(other_shop, buyer.email)
    cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)
    cards.consent_set(user=buyer, shop=other_shop, allow=True)

    cards.card_set_default(user=buyer, card=second)

    assert SavedCard.objects.get(is_default=True).pk == second.pk
    assert ChargeConsent.objects.count() == 2
    assert not ChargeConsent.objects.filter(withdrawn_at__isnull=True).exists()


def test_deleting_the_default_card_withdraws_consent_and_detaches_it(
    buyer, shop_with_buyer, localstripe
):
    """Deleting the default card withdraws consent and detaches the card at Stripe."""
    card = cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)

    cards.card_delete(user=buyer, card=card)

    assert not SavedCard.objects.exists()
    assert ChargeConsent.objects.get().withdrawn_at is not None
    pm = localstripe.request("GET", f"/v1/payment_methods/{card.stripe_payment_method_id}")
    assert pm["customer"] is None


def test_deleting_another_card_keeps_consent(buyer, shop_with_buyer, localstripe):
    """Deleting a card that is not the default leaves consent for the default card alone."""
    cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    spare = cards.card_save(
        user=buyer, stripe_payment_method_id=card_payment_method("5555555555554444")
    )
    cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)

    cards.card_delete(user=buyer, card=spare)

    assert ChargeConsent.objects.get().withdrawn_at is None


def test_withdrawing_consent(buyer, shop_with_buyer, localstripe):
    """Unticking allow charges withdraws the live consent."""
    cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method())
    cards.consent_set(user=buyer, shop=shop_with_buyer, allow=True)

    assert cards.consent_set(user=buyer, shop=shop_with_buyer, allow=False) is None

    assert ChargeConsent.objects.get().withdrawn_at is not None
