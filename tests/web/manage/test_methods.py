"""The shop's payment and shipping methods pages: list, add, edit, deactivate, reactivate."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from tests.support import factories

pytestmark = pytest.mark.django_db


def _payment_form(**overrides) -> dict:
    data = {
        "name": "Cheque",
        "kind": "manual",
        "description": "To the order of Ferme du Val",
        "fee": "0",
        "fee_percent": "0",
        "stripe_account": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _shipping_form(**overrides) -> dict:
    data = {
        "name": "Home delivery",
        "requires_address": "true",
        "description": "Thursdays",
        "fee": "3.50",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _error_of(response, field: str) -> str:
    """The text of the error block shown under `field` ("" when there is none)."""
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', response.text)
    return match.group(1) if match else ""


def _rows(response) -> list[str]:
    return re.findall(r'<tr data-state="\w+"[^>]*>.*?</tr>', response.text, flags=re.S)


# --- Payment methods: list ---------------------------------------------------------------


def test_an_empty_payment_list_says_what_to_do(manager_client, shop):
    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/")

    assert response.status_code == 200
    assert "No payment method yet: add one so subscriptions can be paid" in response.text
    assert f'href="/manage/{shop.pk}/payment-methods/new/"' in response.text


def test_the_payment_list_shows_kind_fees_and_state(manager_client, shop):
    """Each method with its kind, its fees in the shop's currency, and whether it is active;
    a deactivated method stays listed, marked inactive."""
    factories.payment_method(shop, kind="stripe", name="Card", fee="0.25", fee_percent="1.4")
    old = factories.payment_method(shop, kind="manual", name="Cash", fee="2.50")
    old.active = False
    old.save()
    factories.payment_method(factories.shop("Other shop"), name="Not ours")

    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/")

    rows = _rows(response)
    assert len(rows) == 2
    card, cash = rows  # by name
    assert "Cash" in cash and "€2.50" in cash and "Inactive" in cash and "Reactivate" in cash
    assert 'data-state="inactive"' in cash
    assert "Card" in card and "Stripe" in card and "€0.25" in card and "1.4%" in card
    assert "Deactivate" in card
    assert "Not ours" not in response.text


def test_the_payment_list_sorts_and_pages(manager_client, shop):
    """Headers sort (here by fee, highest first) and 25 rows fit a page."""
    PaymentMethod.objects.bulk_create(
        PaymentMethod(shop=shop, name=f"Method {i:02d}", kind="manual", fee=Decimal(i))
        for i in range(30)
    )

    first = manager_client.get(f"/manage/{shop.pk}/payment-methods/?sort=-fee")
    second = manager_client.get(f"/manage/{shop.pk}/payment-methods/?sort=-fee&page=2")

    assert len(_rows(first)) == 25 and "Method 29" in _rows(first)[0]
    assert len(_rows(second)) == 5 and "Method 00" in _rows(second)[-1]
    assert "Page 2 of 2 (30 in all)" in second.text


def test_the_payment_list_is_in_french_with_french_amounts(manager_client, shop):
    factories.payment_method(shop, kind="stripe", name="Carte", fee="2.50", fee_percent="1.4")

    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/", HTTP_ACCEPT_LANGUAGE="fr")

    assert "Moyens de paiement" in response.text
    assert "Ajouter un moyen de paiement" in response.text
    assert "2,50\u00a0€" in response.text
    assert "1,4\u00a0%" in response.text
    assert "Actif" in response.text and "Désactiver" in response.text


def test_the_empty_payment_list_is_in_french(manager_client, shop):
    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Aucun moyen de paiement" in response.text


def test_the_payment_list_runs_as_many_queries_for_500_rows_as_for_10(
    manager_client, shop, count_queries
):
    url = f"/manage/{shop.pk}/payment-methods/"
    PaymentMethod.objects.bulk_create(
        PaymentMethod(shop=shop, name=f"Method {i:03d}", kind="manual") for i in range(10)
    )
    at_10 = count_queries(manager_client, url)
    PaymentMethod.objects.bulk_create(
        PaymentMethod(shop=shop, name=f"Method {i:03d}", kind="stripe") for i in range(10, 500)
    )
    assert count_queries(manager_client, url) == at_10


# --- Payment methods: add ----------------------------------------------------------------


def test_the_new_payment_form_explains_the_kinds(manager_client, shop):
    """Kinds are radio buttons, manual chosen by default, and the page says that only manual
    and Stripe methods serve subscriptions."""
    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/new/")

    assert response.status_code == 200
    assert 'type="radio" name="kind" value="manual"' in response.text
    assert re.search(r'value="manual"[^>]*checked', response.text)
    assert "Only manual and Stripe methods can be used by subscriptions." in response.text
    assert "charged automatically when the order cycle closes" in response.text
    assert "For orders outside subscriptions" in response.text
    assert "e.g. €0.50" in response.text  # the shop's currency


def test_adding_a_manual_method_with_a_comma_fee(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/", _payment_form(fee="2,50", fee_percent="1,5")
    )

    assert response.status_code == 302
    assert response["Location"] == f"/manage/{shop.pk}/payment-methods/"
    method = PaymentMethod.objects.get(shop=shop)
    assert (method.name, method.kind, method.active) == ("Cheque", "manual", True)
    assert method.fee == Decimal("2.50") and method.fee_percent == Decimal("1.5")
    assert method.description == "To the order of Ferme du Val"
    assert "The payment method “Cheque” is added." in manager_client.get(response["Location"]).text


def test_adding_a_stripe_method_with_its_connected_account(manager_client, shop):
    """Fees left empty read as none."""
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/",
        _payment_form(name="Card", kind="stripe", fee="", fee_percent="", stripe_account="acct_1"),
    )

    assert response.status_code == 302
    method = PaymentMethod.objects.get(shop=shop)
    assert (method.kind, method.stripe_account) == ("stripe", "acct_1")
    assert method.fee == 0 and method.fee_percent == 0


def test_bad_payment_input_is_shown_next_to_each_field_and_nothing_is_added(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/",
        _payment_form(name="  ", fee="-1", fee_percent="150", stripe_account="acct_1"),
    )

    assert response.status_code == 200
    assert "can&#x27;t be blank" in _error_of(response, "name")
    assert "must be 0 or more" in _error_of(response, "fee")
    assert "must be 100 or less" in _error_of(response, "fee_percent")
    assert "only a Stripe method has a connected account" in _error_of(response, "stripe_account")
    assert 'value="150"' in response.text  # what was typed stays
    assert not PaymentMethod.objects.exists()


def test_a_negative_percentage_and_a_wrong_account_id_are_refused(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/",
        _payment_form(kind="stripe", fee_percent="-0,5", stripe_account="12345"),
    )

    assert "must be 0 or more" in _error_of(response, "fee_percent")
    assert "must be a Stripe account id (acct_…)" in _error_of(response, "stripe_account")
    assert not PaymentMethod.objects.exists()


def test_an_unreadable_fee_is_refused_naming_the_field(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/", _payment_form(fee="two euros")
    )

    assert "Enter a number for “Fixed fee”, such as 2.50 or 2,50." in _error_of(response, "fee")
    assert not PaymentMethod.objects.exists()


def test_a_missing_kind_gets_the_services_message(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/", _payment_form(kind=None)
    )

    assert "must be one of: manual, stripe, other" in _error_of(response, "kind")
    assert not PaymentMethod.objects.exists()


def test_a_too_long_name_is_refused(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/", _payment_form(name="x" * 201)
    )

    assert "at most 200 characters" in _error_of(response, "name")
    assert not PaymentMethod.objects.exists()


def test_the_payment_form_errors_are_in_french(manager_client, shop):
    """The French form shows the example in euros the French way and the service's French
    messages under the fields."""
    form = manager_client.get(f"/manage/{shop.pk}/payment-methods/new/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "0,50\u00a0€" in form.text
    assert "Frais fixes" in form.text

    unreadable = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/",
        _payment_form(fee_percent="deux"),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    refused = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/new/",
        _payment_form(name="", fee="-1"),
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert "Saisissez un nombre pour «\u00a0Frais en pourcentage\u00a0»" in _error_of(
        unreadable, "fee_percent"
    )
    assert "ne peut pas être vide" in _error_of(refused, "name")
    assert "doit être supérieur ou égal à 0" in _error_of(refused, "fee")
    assert not PaymentMethod.objects.exists()


# --- Payment methods: edit ---------------------------------------------------------------


def test_the_edit_form_shows_the_method_with_its_kind_read_only(manager_client, shop):
    method = factories.payment_method(shop, kind="manual", name="Cash", fee="2.50")

    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/{method.pk}/")

    assert response.status_code == 200
    assert 'value="Cash"' in response.text and 'value="2.50"' in response.text
    assert 'name="kind"' not in response.text
    assert "Manual (cash, cheque, bank transfer)" in response.text
    assert "(cannot be changed)" in response.text
    assert 'name="stripe_account"' not in response.text  # only for Stripe


def test_the_french_edit_form_shows_amounts_with_a_comma(manager_client, shop):
    method = factories.payment_method(shop, kind="stripe", fee="2.50", fee_percent="1.4")

    response = manager_client.get(
        f"/manage/{shop.pk}/payment-methods/{method.pk}/", HTTP_ACCEPT_LANGUAGE="fr"
    )

    assert 'value="2,50"' in response.text and 'value="1,4"' in response.text
    assert 'name="stripe_account"' in response.text
    assert "(ne peut pas être modifié)" in response.text


def test_editing_saves_the_changes_but_never_the_kind(manager_client, shop):
    method = factories.payment_method(shop, kind="stripe", name="Card")

    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/{method.pk}/",
        _payment_form(name="Card (Visa)", kind="other", fee="0,30", stripe_account="acct_9"),
    )

    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.name, method.kind, method.fee) == ("Card (Visa)", "stripe", Decimal("0.30"))
    assert method.stripe_account == "acct_9"
    assert (
        "The payment method “Card (Visa)” is saved."
        in manager_client.get(response["Location"]).text
    )


def test_a_bad_edit_shows_the_message_and_changes_nothing(manager_client, shop):
    method = factories.payment_method(shop, kind="manual", name="Cash", fee="1.00")

    response = manager_client.post(
        f"/manage/{shop.pk}/payment-methods/{method.pk}/",
        _payment_form(name="Cash!", fee="-2", fee_percent="101"),
    )

    assert response.status_code == 200
    assert "must be 0 or more" in _error_of(response, "fee")
    assert "must be 100 or less" in _error_of(response, "fee_percent")
    assert "<h1>Cash</h1>" in response.text
    method.refresh_from_db()
    assert (method.name, method.fee) == ("Cash", Decimal("1.00"))


def test_another_shops_payment_method_is_not_found(manager_client, shop):
    """Ids of other shops' methods answer 404 on every page, and nothing changes."""
    theirs = factories.payment_method(factories.shop("Other shop"), name="Theirs")
    base = f"/manage/{shop.pk}/payment-methods/{theirs.pk}"

    assert manager_client.get(f"{base}/").status_code == 404
    assert manager_client.post(f"{base}/", _payment_form(name="Mine")).status_code == 404
    assert manager_client.get(f"{base}/active/").status_code == 404
    assert manager_client.post(f"{base}/active/", {"active": "false"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Theirs", True)


# --- Payment methods: deactivate, reactivate ---------------------------------------------


def test_deactivating_asks_first_and_says_what_it_means(manager_client, shop):
    method = factories.payment_method(shop, kind="manual", name="Cash")

    response = manager_client.get(f"/manage/{shop.pk}/payment-methods/{method.pk}/active/")

    assert response.status_code == 200
    assert "Deactivate “Cash”?" in response.text
    assert "Subscriptions that use it get no new orders" in response.text
    assert 'name="active" value="false"' in response.text
    method.refresh_from_db()
    assert method.active is True  # a GET writes nothing


def test_a_deactivated_method_stays_listed_and_can_be_reactivated(manager_client, shop):
    method = factories.payment_method(shop, kind="manual", name="Cash")
    url = f"/manage/{shop.pk}/payment-methods/{method.pk}/active/"

    response = manager_client.post(url, {"active": "false"})

    assert response.status_code == 302
    method.refresh_from_db()
    assert method.active is False
    listing = manager_client.get(response["Location"])
    assert "The payment method “Cash” is deactivated." in listing.text
    assert 'data-state="inactive"' in _rows(listing)[0]

    confirm = manager_client.get(url)
    assert "Reactivate “Cash”?" in confirm.text
    manager_client.post(url, {"active": "true"})
    method.refresh_from_db()
    assert method.active is True


def test_posting_the_same_state_twice_keeps_it(manager_client, shop):
    """The form sends the state wanted, not a toggle: a double click does not undo it."""
    method = factories.payment_method(shop)
    url = f"/manage/{shop.pk}/payment-methods/{method.pk}/active/"

    manager_client.post(url, {"active": "false"})
    manager_client.post(url, {"active": "false"})

    method.refresh_from_db()
    assert method.active is False


def test_a_tampered_state_is_refused(manager_client, shop):
    method = factories.payment_method(shop)
    url = f"/manage/{shop.pk}/payment-methods/{method.pk}/active/"

    assert manager_client.post(url, {"active": "maybe"}).status_code == 400
    method.refresh_from_db()
    assert method.active is True


# --- Shipping methods --------------------------------------------------------------------


def test_an_empty_shipping_list_says_what_to_do(manager_client, shop):
    response = manager_client.get(f"/manage/{shop.pk}/shipping-methods/")

    assert "No shipping method yet: add one (delivery or pick-up)" in response.text
    assert f'href="/manage/{shop.pk}/shipping-methods/new/"' in response.text


def test_the_shipping_list_shows_delivery_or_pick_up_fee_and_state(manager_client, shop):
    factories.shipping_method(shop, name="Home delivery", fee="3.50")
    pick_up = factories.shipping_method(shop, name="Farm pick-up", requires_address=False)
    pick_up.active = False
    pick_up.save()

    response = manager_client.get(f"/manage/{shop.pk}/shipping-methods/")

    farm, home = _rows(response)
    assert "Pick-up" in farm and "€0.00" in farm and "Inactive" in farm
    assert "Delivery" in home and "€3.50" in home and "Active" in home


def test_the_shipping_list_is_in_french(manager_client, shop):
    factories.shipping_method(shop, name="Tournée du jeudi", fee="3.50")
    factories.shipping_method(shop, name="Ferme", requires_address=False)

    response = manager_client.get(f"/manage/{shop.pk}/shipping-methods/", HTTP_ACCEPT_LANGUAGE="fr")

    farm, round_ = _rows(response)
    assert "Modes de livraison" in response.text
    assert "Retrait" in farm and "0,00\u00a0€" in farm
    assert "Livraison" in round_ and "3,50\u00a0€" in round_


def test_the_shipping_list_runs_as_many_queries_for_500_rows_as_for_10(
    manager_client, shop, count_queries
):
    url = f"/manage/{shop.pk}/shipping-methods/"
    ShippingMethod.objects.bulk_create(
        ShippingMethod(shop=shop, name=f"Route {i:03d}") for i in range(10)
    )
    at_10 = count_queries(manager_client, url)
    ShippingMethod.objects.bulk_create(
        ShippingMethod(shop=shop, name=f"Route {i:03d}", requires_address=False)
        for i in range(10, 500)
    )
    assert count_queries(manager_client, url) == at_10


def test_adding_a_pick_up_method(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/new/",
        _shipping_form(name="Farm pick-up", requires_address="false", fee=""),
    )

    assert response.status_code == 302
    method = ShippingMethod.objects.get(shop=shop)
    assert (method.name, method.requires_address, method.fee) == ("Farm pick-up", False, 0)
    assert (
        "The shipping method “Farm pick-up” is added."
        in manager_client.get(response["Location"]).text
    )


def test_adding_a_delivery_with_a_comma_fee(manager_client, shop):
    manager_client.post(f"/manage/{shop.pk}/shipping-methods/new/", _shipping_form(fee="3,5"))

    method = ShippingMethod.objects.get(shop=shop)
    assert method.requires_address is True and method.fee == Decimal("3.50")


def test_delivery_or_pick_up_must_be_chosen(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/new/", _shipping_form(requires_address=None)
    )

    assert response.status_code == 200
    assert "This field is required." in _error_of(response, "requires_address")
    assert not ShippingMethod.objects.exists()


def test_the_service_checks_name_and_fee_of_a_shipping_method(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/new/", _shipping_form(name=" ", fee="-3")
    )

    assert "can&#x27;t be blank" in _error_of(response, "name")
    assert "must be 0 or more" in _error_of(response, "fee")
    assert not ShippingMethod.objects.exists()


def test_the_shipping_form_is_in_french(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/new/",
        _shipping_form(fee="-3"),
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert "Nouveau mode de livraison" in response.text
    assert "doit être supérieur ou égal à 0" in _error_of(response, "fee")
    assert "3,50\u00a0€" in response.text  # the example in the fee's help


def test_editing_a_shipping_method(manager_client, shop):
    method = factories.shipping_method(shop, name="Delivery", fee="3.00")

    page = manager_client.get(f"/manage/{shop.pk}/shipping-methods/{method.pk}/")
    assert 'value="Delivery"' in page.text
    assert re.search(r'value="true"[^>]*checked', page.text)

    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/{method.pk}/",
        _shipping_form(name="Pick-up", requires_address="false", fee="0"),
    )

    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.name, method.requires_address, method.fee) == ("Pick-up", False, 0)


def test_a_bad_shipping_edit_changes_nothing(manager_client, shop):
    method = factories.shipping_method(shop, name="Delivery", fee="3.00")

    response = manager_client.post(
        f"/manage/{shop.pk}/shipping-methods/{method.pk}/", _shipping_form(name="", fee="1")
    )

    assert "can&#x27;t be blank" in _error_of(response, "name")
    method.refresh_from_db()
    assert (method.name, method.fee) == ("Delivery", Decimal("3.00"))


def test_deactivating_and_reactivating_a_shipping_method(manager_client, shop):
    method = factories.shipping_method(shop, name="Delivery")
    url = f"/manage/{shop.pk}/shipping-methods/{method.pk}/active/"

    confirm = manager_client.get(url)
    assert "Deactivate “Delivery”?" in confirm.text
    assert "another shipping method" in confirm.text

    response = manager_client.post(url, {"active": "false"})
    method.refresh_from_db()
    assert method.active is False
    assert (
        "The shipping method “Delivery” is deactivated."
        in manager_client.get(response["Location"]).text
    )

    manager_client.post(url, {"active": "true"})
    method.refresh_from_db()
    assert method.active is True


def test_another_shops_shipping_method_is_not_found(manager_client, shop):
    theirs = factories.shipping_method(factories.shop("Other shop"), name="Theirs")
    base = f"/manage/{shop.pk}/shipping-methods/{theirs.pk}"

    assert manager_client.get(f"{base}/").status_code == 404
    assert manager_client.post(f"{base}/", _shipping_form(name="Mine")).status_code == 404
    assert manager_client.get(f"{base}/active/").status_code == 404
    assert manager_client.post(f"{base}/active/", {"active": "false"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Theirs", True)


# --- Who may see them --------------------------------------------------------------------


def test_outsiders_see_none_of_the_methods_pages(shop, assert_hidden):
    """Anonymous visitors are sent to sign in; buyers and other shops' managers get 404 on
    every page, read or write."""
    payment = factories.payment_method(shop)
    shipping = factories.shipping_method(shop)
    base = f"/manage/{shop.pk}"
    pages = [
        (f"{base}/payment-methods/", {}),
        (f"{base}/payment-methods/new/", _payment_form()),
        (f"{base}/payment-methods/{payment.pk}/", _payment_form(name="Taken")),
        (f"{base}/payment-methods/{payment.pk}/active/", {"active": "false"}),
        (f"{base}/shipping-methods/", {}),
        (f"{base}/shipping-methods/new/", _shipping_form()),
        (f"{base}/shipping-methods/{shipping.pk}/", _shipping_form(name="Taken")),
        (f"{base}/shipping-methods/{shipping.pk}/active/", {"active": "false"}),
    ]
    for url, data in pages:
        assert_hidden(url)
        assert_hidden(url, method="post", data=data)

    payment.refresh_from_db()
    shipping.refresh_from_db()
    assert payment.active and payment.name == "Manual"
    assert shipping.active and shipping.name == "Delivery"
    assert PaymentMethod.objects.count() == 1 and ShippingMethod.objects.count() == 1


def test_the_lists_take_no_post(manager_client, shop):
    assert manager_client.post(f"/manage/{shop.pk}/payment-methods/").status_code == 405
    assert manager_client.post(f"/manage/{shop.pk}/shipping-methods/").status_code == 405
