"""The customers pages of the back office: the list (search, sort, pages), adding and
changing a customer with their addresses, and removing one that no subscription holds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cadence.customers.models import Customer
from tests.support import factories

pytestmark = pytest.mark.django_db


def _list(shop) -> str:
    return f"/manage/{shop.pk}/customers/"


def _add(shop) -> str:
    return f"/manage/{shop.pk}/customers/new/"


def _edit(customer) -> str:
    return f"/manage/{customer.shop_id}/customers/{customer.pk}/"


def _delete(customer) -> str:
    return f"/manage/{customer.shop_id}/customers/{customer.pk}/delete/"


def _address(prefix: str, **values) -> dict:
    """The inputs of one address fieldset, blank unless given (the country list has FR)."""
    fields = ("first_name", "last_name", "address1", "address2", "postcode", "city", "phone")
    data = {f"{prefix}-{name}": values.get(name, "") for name in fields}
    data[f"{prefix}-country"] = values.get("country", "FR")
    return data


def _form(*, bill=None, ship=None, same_as_bill=False, **overrides) -> dict:
    data = {
        "email": "camille@example.org",
        "first_name": "Camille",
        "last_name": "Martin",
        "phone": "06 01 02 03 04",
        "code": "M-042",
        "tags": "amap, mardi",
        "language": "fr",
        **_address("bill", **(bill or {})),
        **_address("ship", **(ship or {})),
    }
    if same_as_bill:
        data["ship-same_as_bill"] = "on"
    data.update(overrides)
    return data


LILAS = {
    "first_name": "Camille",
    "last_name": "Martin",
    "address1": "12 rue des Lilas",
    "postcode": "69003",
    "city": "Lyon",
    "country": "FR",
    "phone": "0601020304",
}


def _error_block(html: str, field_id: str) -> str:
    """The text of the errors shown under the input `field_id` (empty when none)."""
    match = re.search(
        rf'<ul class="field-errors" id="id_{re.escape(field_id)}_error">(.*?)</ul>', html, re.S
    )
    return match.group(1) if match else ""


# --- the list ------------------------------------------------------------------------------


def test_an_empty_list_says_what_to_do_next(manager_client, shop):
    """With no customer, the page explains that an email is enough and offers to add one."""
    response = manager_client.get(_list(shop))

    assert response.status_code == 200
    assert "No customers yet. Add the buyers who will subscribe" in response.text
    assert f'href="{_add(shop)}"' in response.text
    assert 'role="search"' not in response.text


def test_the_list_shows_each_customer_with_a_link_to_change_it(manager_client, shop):
    """Email, name, code, phone and the city of the ship address show for each customer."""
    customer = factories.customer(
        shop,
        "ann@example.org",
        first_name="Ann",
        last_name="Leroy",
        code="A1",
        phone="0612345678",
        ship_address=factories.address(city="Villeurbanne"),
    )
    factories.customer(factories.shop("Elsewhere"), "someone@example.org")

    response = manager_client.get(_list(shop))

    assert f'href="{_edit(customer)}"' in response.text
    for text in ("ann@example.org", "Ann Leroy", "A1", "0612345678", "Villeurbanne"):
        assert text in response.text
    assert "someone@example.org" not in response.text


def test_removed_customers_are_not_listed(manager_client, shop):
    """A soft-deleted customer (kept for past orders) is not on the list."""
    factories.customer(shop, "gone@example.org", deleted_at=timezone.now())
    assert "gone@example.org" not in manager_client.get(_list(shop)).text


def test_search_finds_by_email_name_or_code(manager_client, shop):
    """`q` matches part of the email or of a name, or the exact code, as the API does."""
    factories.customer(shop, "ann@example.org", first_name="Ann", code="A1")
    factories.customer(shop, "bob@example.org", last_name="Dupont", code="B2")

    def found(q):
        text = manager_client.get(_list(shop), {"q": q}).text
        return {e for e in ("ann@example.org", "bob@example.org") if e in text}

    assert found("ann@") == {"ann@example.org"}
    assert found("dupo") == {"bob@example.org"}
    assert found("b2") == {"bob@example.org"}
    assert found("example") == {"ann@example.org", "bob@example.org"}


def test_a_search_without_match_says_so(manager_client, shop):
    """The empty state of a search names the search and offers to show everyone again."""
    factories.customer(shop, "ann@example.org")

    response = manager_client.get(_list(shop), {"q": "zoé"})

    assert "No customer matches “zoé”" in response.text
    assert "Show all customers" in response.text


def test_sorting_by_name_code_and_added_on(manager_client, shop):
    """Each sortable column orders the rows, both ways."""
    a = factories.customer(shop, "a@example.org", last_name="Zola", code="2")
    factories.customer(shop, "b@example.org", last_name="Aragon", code="3")
    c = factories.customer(shop, "c@example.org", last_name="Malraux", code="1")
    Customer.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=3))
    Customer.objects.filter(pk=c.pk).update(created_at=timezone.now() - timedelta(days=2))

    def order(sort):
        text = manager_client.get(_list(shop), {"sort": sort}).text
        return sorted(("a@", "b@", "c@"), key=text.index)

    assert order("email") == ["a@", "b@", "c@"]
    assert order("-email") == ["c@", "b@", "a@"]
    assert order("name") == ["b@", "c@", "a@"]
    assert order("code") == ["c@", "a@", "b@"]
    assert order("created_at") == ["a@", "c@", "b@"]
    assert order("-created_at") == ["b@", "c@", "a@"]


def test_the_list_is_paginated(manager_client, shop):
    """25 rows a page, with a link to the next page that keeps the search."""
    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"buyer{i:03d}@example.org") for i in range(30)]
    )

    first = manager_client.get(_list(shop), {"q": "buyer"})
    second = manager_client.get(_list(shop), {"q": "buyer", "page": 2})

    assert "buyer024@example.org" in first.text and "buyer025@example.org" not in first.text
    assert "Page 1 of 2 (30 in all)" in first.text
    assert 'rel="next"' in first.text and "q=buyer" in first.text
    assert "buyer025@example.org" in second.text and "buyer029@example.org" in second.text


def test_the_list_runs_as_many_queries_for_500_customers_as_for_10(
    manager_client, shop, count_queries
):
    """The page reads one page of rows and a count, whatever the size of the list."""
    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"c{i}@example.org", ship_address=LILAS) for i in range(10)]
    )
    url = _list(shop) + "?sort=name&q=example"
    at_10 = count_queries(manager_client, url)

    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"d{i}@example.org", ship_address=LILAS) for i in range(490)]
    )

    assert count_queries(manager_client, url) == at_10


# --- adding --------------------------------------------------------------------------------


def test_adding_a_customer_with_only_an_email(manager_client, shop):
    """An email is enough: blank address fieldsets mean no address."""
    response = manager_client.post(
        _add(shop), _form(first_name="", last_name="", phone="", code="", tags="")
    )

    assert response.status_code == 302 and response["Location"] == _list(shop)
    customer = Customer.objects.get(shop=shop)
    assert customer.email == "camille@example.org"
    assert customer.bill_address is None and customer.ship_address is None
    assert "camille@example.org is on the customer list." in manager_client.get(_list(shop)).text


def test_adding_a_customer_with_both_addresses(manager_client, shop):
    """Every field is saved, the two addresses as given."""
    ship = {**LILAS, "address1": "3 place Bellecour", "address2": "Bât. B", "city": "Lyon 2e"}

    response = manager_client.post(_add(shop), _form(bill=LILAS, ship=ship))

    assert response.status_code == 302
    customer = Customer.objects.get(shop=shop)
    assert (customer.first_name, customer.last_name, customer.code) == (
        "Camille",
        "Martin",
        "M-042",
    )
    assert (customer.phone, customer.tags, customer.language) == (
        "06 01 02 03 04",
        "amap, mardi",
        "fr",
    )
    assert customer.bill_address == {**LILAS, "address2": ""}
    assert customer.ship_address["address1"] == "3 place Bellecour"
    assert customer.ship_address["address2"] == "Bât. B"


def test_same_as_bill_copies_the_bill_address(manager_client, shop):
    """With the box ticked, the ship address is the bill address, whatever the hidden ship
    inputs hold."""
    response = manager_client.post(
        _add(shop), _form(bill=LILAS, ship={"city": "Ignored"}, same_as_bill=True)
    )

    assert response.status_code == 302
    customer = Customer.objects.get(shop=shop)
    assert customer.ship_address == customer.bill_address
    assert customer.ship_address["city"] == "Lyon"


def test_the_form_starts_with_the_shops_language_and_france(manager_client, shop):
    """A new customer's emails default to the shop's language; addresses to France, and the
    ship address to the bill address."""
    shop.language = "fr"
    shop.save()

    response = manager_client.get(_add(shop))

    assert response.status_code == 200
    assert '<option value="fr" selected>' in response.text
    assert '<option value="FR" selected>France</option>' in response.text
    assert 'name="ship-same_as_bill" id="id_ship-same_as_bill" checked' in response.text


def test_a_taken_email_is_refused_under_the_email_field(manager_client, shop):
    """The service's message shows next to the email, and nothing is written."""
    factories.customer(shop, "Camille@example.org")

    response = manager_client.post(_add(shop), _form(bill=LILAS))

    assert response.status_code == 200
    assert "is already on this shop&#x27;s customer list" in _error_block(response.text, "email")
    assert Customer.objects.filter(shop=shop).count() == 1
    assert 'value="M-042"' in response.text  # what was typed is kept


def test_an_invalid_email_is_refused_with_the_services_message(manager_client, shop):
    response = manager_client.post(_add(shop), _form(email="camille-at-example"))

    assert "is not a valid email address" in _error_block(response.text, "email")
    assert not Customer.objects.exists()


def test_a_missing_email_is_asked_for(manager_client, shop):
    response = manager_client.post(_add(shop), _form(email=""))

    assert _error_block(response.text, "email")
    assert not Customer.objects.exists()


def test_a_partly_filled_address_names_what_it_lacks_on_its_inputs(manager_client, shop):
    """The address rules' messages land on the inputs they name, in the right fieldset."""
    response = manager_client.post(
        _add(shop), _form(bill={"city": "Lyon"}, ship={**LILAS, "last_name": ""})
    )

    assert response.status_code == 200
    assert "can&#x27;t be blank" in _error_block(response.text, "bill-first_name")
    assert "can&#x27;t be blank" in _error_block(response.text, "bill-address1")
    assert _error_block(response.text, "bill-city") == ""
    assert "can&#x27;t be blank" in _error_block(response.text, "ship-last_name")
    assert _error_block(response.text, "ship-first_name") == ""
    assert not Customer.objects.exists()


def test_a_too_long_code_is_refused_under_its_field(manager_client, shop):
    response = manager_client.post(_add(shop), _form(code="x" * 51))

    assert "at most 50 characters" in _error_block(response.text, "code")
    assert not Customer.objects.exists()


# --- changing ------------------------------------------------------------------------------


def test_the_edit_form_shows_the_customer_and_addresses(manager_client, shop):
    customer = factories.customer(
        shop, "ann@example.org", code="A1", ship_address=factories.address(city="Bron")
    )

    response = manager_client.get(_edit(customer))

    assert response.status_code == 200
    assert 'value="ann@example.org"' in response.text and 'value="A1"' in response.text
    assert 'name="bill-city" value="Lyon"' in response.text
    assert 'name="ship-city" value="Bron"' in response.text
    assert 'id="id_ship-same_as_bill" checked' not in response.text
    assert f'href="{_delete(customer)}"' in response.text


def test_changing_a_customer_and_its_addresses(manager_client, shop):
    """The changes are saved and the ship address becomes a copy of the new bill address."""
    customer = factories.customer(shop, "ann@example.org")
    bill = {**LILAS, "address1": "1 quai Perrache"}

    response = manager_client.post(
        _edit(customer), _form(email="ann.martin@example.org", bill=bill, same_as_bill=True)
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "ann.martin@example.org"
    assert customer.bill_address["address1"] == "1 quai Perrache"
    assert customer.ship_address == customer.bill_address
    assert (
        "The changes to ann.martin@example.org are saved."
        in manager_client.get(response["Location"]).text
    )


def test_blanking_an_address_removes_it(manager_client, shop):
    customer = factories.customer(shop, "ann@example.org")

    manager_client.post(_edit(customer), _form(email="ann@example.org", bill=LILAS))

    customer.refresh_from_db()
    assert customer.bill_address is not None and customer.ship_address is None


def test_changing_to_another_customers_email_is_refused(manager_client, shop):
    customer = factories.customer(shop, "ann@example.org", first_name="Ann")
    factories.customer(shop, "bob@example.org")

    response = manager_client.post(
        _edit(customer), _form(email="BOB@example.org", first_name="Annie")
    )

    assert "is already on this shop&#x27;s customer list" in _error_block(response.text, "email")
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("ann@example.org", "Ann")


def test_a_country_the_list_does_not_name_is_kept(manager_client, shop):
    """An address saved through the API with an unusual code can be saved again as is."""
    customer = factories.customer(shop, "ann@example.org", bill_address={**LILAS, "country": "XK"})
    customer.bill_address["country"] = "QZ"
    customer.save()

    response = manager_client.get(_edit(customer))
    assert '<option value="QZ" selected>QZ</option>' in response.text

    manager_client.post(
        _edit(customer), _form(email="ann@example.org", bill={**LILAS, "country": "QZ"})
    )
    customer.refresh_from_db()
    assert customer.bill_address["country"] == "QZ"


# --- removing ------------------------------------------------------------------------------


def test_removing_a_customer_asks_first_then_removes(manager_client, shop):
    """GET only asks; POST removes and says so."""
    customer = factories.customer(shop, "ann@example.org")

    page = manager_client.get(_delete(customer))
    assert page.status_code == 200 and "Remove the customer" in page.text
    assert Customer.objects.filter(pk=customer.pk).exists()

    response = manager_client.post(_delete(customer))

    assert response.status_code == 302 and response["Location"] == _list(shop)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert (
        "ann@example.org is no longer on the customer list." in manager_client.get(_list(shop)).text
    )


def test_a_customer_whose_subscriptions_ended_can_be_removed(manager_client, shop):
    """A canceled subscription no longer holds the customer, who is kept for history only."""
    customer = factories.customer(shop, "ann@example.org")
    factories.subscription(shop, customer, canceled_at=timezone.now())

    manager_client.post(_delete(customer))

    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert manager_client.get(_edit(customer)).status_code == 404


def test_a_customer_with_live_subscriptions_cannot_be_removed(manager_client, shop):
    """The page says why and lists the subscriptions to cancel first, with no remove button;
    a POST all the same is refused with the service's message."""
    customer = factories.customer(shop, "ann@example.org")
    active = factories.subscription(
        shop, customer, schedule=factories.schedule(shop, name="Weekly veg")
    )
    later = factories.subscription(shop, customer, begins_at=timezone.now() + timedelta(days=10))
    paused = factories.subscription(shop, customer, paused_at=timezone.now())
    factories.subscription(shop, customer, canceled_at=timezone.now())

    page = manager_client.get(_delete(customer))

    assert "can't be removed" in page.text and "3 subscriptions" in page.text
    for subscription in (active, later, paused):
        assert f"#{subscription.pk}</td>" in page.text
    assert page.text.count("<tr>") == 1 + 3
    assert "Weekly veg" in page.text
    assert "Active" in page.text and "Not started yet" in page.text and "Paused" in page.text
    assert "Remove the customer</button>" not in page.text

    response = manager_client.post(_delete(customer))

    assert response.status_code == 200
    assert "has 3 subscriptions that are not canceled: cancel them first." in response.text
    assert f"#{paused.pk}</td>" in response.text
    customer.refresh_from_db()
    assert customer.deleted_at is None


# --- language, access ----------------------------------------------------------------------


def test_the_pages_read_in_french(manager_client, shop):
    """A French-speaking manager gets French words, dates and the service's messages."""
    customer = factories.customer(shop, "ann@example.org", code="A1")
    Customer.objects.filter(pk=customer.pk).update(created_at=datetime(2026, 12, 2, 12, tzinfo=UTC))
    factories.subscription(shop, customer)

    listing = manager_client.get(_list(shop), HTTP_ACCEPT_LANGUAGE="fr")
    form = manager_client.post(
        _add(shop), _form(email="ann@example.org", bill={"city": "Lyon"}), HTTP_ACCEPT_LANGUAGE="fr"
    )
    blocked = manager_client.get(_delete(customer), HTTP_ACCEPT_LANGUAGE="fr")
    empty = manager_client.get(_list(shop), {"q": "zoé"}, HTTP_ACCEPT_LANGUAGE="fr")

    assert "Ajouter un client" in listing.text and "2 déc. 2026" in listing.text
    assert "Adresse de facturation" in form.text
    assert "figure déjà dans la liste des clients" in _error_block(form.text, "email")
    assert "ne peut pas être vide" in _error_block(form.text, "bill-first_name")
    assert '<option value="DE">Allemagne</option>' in form.text
    assert "Actif" in blocked.text
    assert "Aucun client ne correspond à « zoé »" in empty.text


def test_every_page_is_hidden_from_outsiders(shop, assert_hidden):
    """Anonymous visitors are sent to sign in; buyers and other shops' managers get a 404,
    for reading and for writing."""
    customer = factories.customer(shop, "ann@example.org")
    for url in (_list(shop), _add(shop), _edit(customer), _delete(customer)):
        assert_hidden(url)
        assert_hidden(url, method="post", data=_form(bill=LILAS))
    customer.refresh_from_db()
    assert customer.deleted_at is None
    assert Customer.objects.filter(shop=shop).count() == 1


def test_another_shops_customer_is_not_found(manager_client, manager, shop):
    """A customer id of a shop the manager does not run is a 404, even put under their own
    shop's URL."""
    theirs = factories.customer(factories.shop("Elsewhere"), "x@example.org")
    for url in (
        f"/manage/{shop.pk}/customers/{theirs.pk}/",
        f"/manage/{shop.pk}/customers/{theirs.pk}/delete/",
    ):
        assert manager_client.get(url).status_code == 404
        assert manager_client.post(url, _form()).status_code == 404
    assert Customer.objects.filter(pk=theirs.pk, email="x@example.org").exists()


def test_the_list_only_answers_reading(manager_client, shop):
    """The list page writes nothing: a POST to it is refused."""
    assert manager_client.post(_list(shop), _form()).status_code == 405
    assert not Customer.objects.exists()
