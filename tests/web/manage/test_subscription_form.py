"""The subscription form (create and edit): details with the customer picker and its inline
new customer, addresses filled in from the customer, products found by name or SKU with
quantities and warnings, estimates, the review, the services' messages in place, the orders
an edit could not follow, and the two searches as you type."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.customers.models import Customer
from cadence.orders.models import LineItem
from cadence.subscriptions.models import ProxyOrderState, Subscription, SubscriptionEvent
from cadence.subscriptions.services import lifecycle
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories

pytestmark = pytest.mark.django_db


class World:
    """A shop ready for subscriptions: an open cycle selling three products, on a weekly
    schedule, the methods, and a customer with addresses."""

    def __init__(self, shop):
        now = timezone.now()
        self.shop = shop
        self.carrots = _variant(shop, "Carrots", "CAR-1", "4.50")
        self.eggs = _variant(shop, "Eggs", "EGG-6", "3.00")
        self.honey = _variant(shop, "Honey", "HON-1", "9.00")
        self.cycle = factories.order_cycle(
            shop,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=3),
            variants=[self.carrots, self.eggs],
            name="Week 49",
        )
        self.schedule = factories.schedule(shop, [self.cycle], name="Weekly box")
        self.shipping = factories.shipping_method(shop, fee="2.00", name="Home delivery")
        self.payment = factories.payment_method(shop, name="Cash")
        self.customer = factories.customer(
            shop,
            "alice@example.org",
            first_name="Alice",
            last_name="Durand",
            bill_address=factories.address(first_name="Alice", city="Lyon"),
            ship_address=factories.address(first_name="Alice", city="Villeurbanne"),
        )


def _variant(shop, name, sku, price):
    variant = factories.variant(shop, product_name=name, price=price)
    variant.sku = sku
    variant.save(update_fields=["sku"])
    return variant


@pytest.fixture
def world(shop):
    return World(shop)


def _new(shop) -> str:
    return f"/manage/{shop.pk}/subscriptions/new/"


def _edit(shop, subscription) -> str:
    return f"/manage/{shop.pk}/subscriptions/{subscription.pk}/edit/"


def _page_of(shop, subscription) -> str:
    try:
        return reverse("manage-subscription", args=[shop.pk, subscription.pk])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/subscriptions/{subscription.pk}/"


def _address(prefix: str, **overrides) -> dict:
    values = factories.address(**overrides)
    return {f"{prefix}-{key}": value for key, value in values.items()}


def _form(world, *, lines=(), **overrides) -> dict:
    """A complete create form as the browser posts it."""
    data = {
        "customer_id": str(world.customer.pk),
        "addresses_from": str(world.customer.pk),
        "schedule_id": str(world.schedule.pk),
        "shipping_method_id": str(world.shipping.pk),
        "payment_method_id": str(world.payment.pk),
        "begins_at": timezone.localdate().isoformat(),
        "ends_at": "",
        **_address("bill", city="Lyon"),
        **_address("ship", city="Lyon"),
        "ship-same_as_bill": "on",
        "lines": [str(variant.pk) for variant, _q in lines],
        "q": "",
        "customer_q": "",
        "save": "1",
    }
    for variant, quantity in lines:
        data[f"quantity-{variant.pk}"] = str(quantity)
    data.update(overrides)
    return data


def _blank(*prefixes) -> dict:
    """Address inputs left blank (the country is a list: it always has a value)."""
    names = ("first_name", "last_name", "address1", "address2", "city", "postcode", "phone")
    return {f"{prefix}-{name}": "" for prefix in prefixes for name in names}


def _errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error block for {field}"
    return match.group(1)


def _subscribe(world, lines, **fields):
    """A subscription through the service, as the API creates it."""
    values = {
        "shop": world.shop,
        "customer_id": world.customer.pk,
        "schedule_id": world.schedule.pk,
        "payment_method_id": world.payment.pk,
        "shipping_method_id": world.shipping.pk,
        "begins_at": timezone.now() - timedelta(days=2),
        "line_items": [{"variant_id": v.pk, "quantity": q} for v, q in lines],
    }
    values.update(fields)
    return lifecycle.subscription_create(**values)


# --- creating ---------------------------------------------------------------------------------


def test_a_product_found_by_sku_is_added_and_the_subscription_created(manager_client, world):
    """Search by SKU, add the product (quantity 1), change the quantity, save: the service
    creates the subscription with its line and proxy order, and the manager lands on its
    page."""
    shop = world.shop
    found = manager_client.post(_new(shop), _form(world, q="EGG-6", search="1", save=""))
    assert found.status_code == 200
    assert f'name="add_variant" value="{world.eggs.pk}"' in found.text
    assert f'name="add_variant" value="{world.carrots.pk}"' not in found.text

    added = manager_client.post(
        _new(shop), _form(world, add_variant=str(world.eggs.pk), save="", q="EGG-6")
    )
    assert f'name="quantity-{world.eggs.pk}"' in added.text
    assert f'id="id_quantity-{world.eggs.pk}" value="1"' in added.text
    assert Subscription.objects.count() == 0

    response = manager_client.post(_new(shop), _form(world, lines=[(world.eggs, 3)]))

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _page_of(shop, subscription)
    assert subscription.customer == world.customer and subscription.schedule == world.schedule
    assert [(li.variant_id, li.quantity) for li in subscription.line_items.all()] == [
        (world.eggs.pk, 3)
    ]
    assert subscription.proxy_orders.filter(order_cycle=world.cycle).exists()
    assert SubscriptionEvent.objects.get(subscription=subscription).kind == "created"


def test_the_services_messages_show_next_to_their_fields(manager_client, world):
    """No schedule, a quantity of 0, ends before begins: each message is the API's, in
    place, and nothing is saved."""
    response = manager_client.post(
        _new(world.shop),
        _form(
            world,
            lines=[(world.carrots, 0)],
            schedule_id="",
            begins_at="2031-03-10",
            ends_at="2031-03-01",
        ),
    )

    assert response.status_code == 200
    html = response.text
    assert "Schedule is required" in _errors(html, "schedule_id")
    assert "Ends at must be after begins at" in _errors(html, "ends_at")
    assert "Quantity must be at least 1 for Carrots" in _errors(
        html, f"quantity-{world.carrots.pk}"
    )
    assert "The subscription is not created yet" in html
    assert Subscription.objects.count() == 0


def test_a_quantity_that_is_not_a_number_is_refused_on_its_line(manager_client, world):
    response = manager_client.post(_new(world.shop), _form(world, lines=[(world.carrots, "lots")]))

    assert response.status_code == 200
    assert "Enter a whole number" in _errors(response.text, f"quantity-{world.carrots.pk}")
    assert Subscription.objects.count() == 0


def test_no_customer_says_so_in_the_picker(manager_client, world):
    response = manager_client.post(
        _new(world.shop), _form(world, lines=[(world.carrots, 1)], customer_id="")
    )

    assert "Customer is required" in _errors(response.text, "customer_id")


def test_a_customer_with_a_live_subscription_on_the_schedule_gets_a_warning(manager_client, world):
    """A warning, not a refusal: the second subscription is created all the same."""
    _subscribe(world, [(world.carrots, 1)])
    form = _form(world, lines=[(world.eggs, 2)])

    shown = manager_client.post(_new(world.shop), {**form, "refresh": "1", "save": ""})
    assert 'id="same-schedule-warning"' in shown.text
    assert "This customer already has a subscription on this schedule" in shown.text

    other = factories.schedule(world.shop, [world.cycle], name="Fortnightly")
    elsewhere = manager_client.post(
        _new(world.shop), {**form, "schedule_id": str(other.pk), "refresh": "1", "save": ""}
    )
    assert 'id="same-schedule-warning"' not in elsewhere.text

    saved = manager_client.post(_new(world.shop), form)
    assert saved.status_code == 302
    assert Subscription.objects.filter(customer=world.customer).count() == 2


def test_a_customer_added_inline_is_created_and_chosen(manager_client, world):
    """The small form adds the customer through the customers service and chooses them; a
    refusal (an email already on the list) shows its message in the small form."""
    form = _form(world, customer_id="", addresses_from="", save="")
    response = manager_client.post(
        _new(world.shop),
        {
            **form,
            "add_customer": "1",
            "new-email": "bruno@example.org",
            "new-first_name": "Bruno",
            "new-last_name": "Petit",
        },
    )

    bruno = Customer.objects.get(shop=world.shop, email="bruno@example.org")
    assert (bruno.first_name, bruno.last_name, bruno.language) == ("Bruno", "Petit", "en")
    assert f'value="{bruno.pk}" id="customer-{bruno.pk}" checked' in response.text
    assert "bruno@example.org is added to the customer list and chosen." in response.text

    taken = manager_client.post(
        _new(world.shop), {**form, "add_customer": "1", "new-email": "alice@example.org"}
    )
    assert "is already on this shop" in _errors(taken.text, "new-email")
    assert '<details id="new-customer" open>' in taken.text
    assert Customer.objects.filter(email="alice@example.org").count() == 1


def test_the_customer_search_works_without_javascript(manager_client, world):
    """The picker's Search button posts the form and shows the customers found, as radio
    buttons of the form's customer."""
    form = _form(world, customer_id="", customer_q="alice", save="", find_customer="1")

    response = manager_client.post(_new(world.shop), form)

    assert f'name="customer_id" value="{world.customer.pk}"' in response.text
    assert Subscription.objects.count() == 0


def test_choosing_a_customer_ends_the_search_that_found_them(manager_client, world):
    form = _form(world, customer_q="durand", save="", refresh="1")

    chosen = manager_client.post(_new(world.shop), {**form, "customer_before": ""})
    searching = manager_client.post(
        _new(world.shop), {**form, "customer_before": str(world.customer.pk)}
    )

    assert 'name="customer_q" id="id_customer_q" value=""' in chosen.text
    assert 'name="customer_q" id="id_customer_q" value="durand"' in searching.text


def test_choosing_a_customer_fills_in_their_addresses(manager_client, world):
    """Blank addresses take the chosen customer's; typed ones stay; choosing another
    customer replaces what was filled in from the first."""
    first = manager_client.get(f"{_new(world.shop)}?customer_id={world.customer.pk}")
    assert 'name="bill-city" value="Lyon"' in first.text
    assert re.search(r'name="bill-country"[^>]*>.*<option value="FR" selected>', first.text)
    assert 'name="ship-city" value="Villeurbanne"' in first.text

    chosen = manager_client.post(
        _new(world.shop),
        {**_form(world, addresses_from="", save=""), **_blank("bill"), "refresh": "1"},
    )
    assert 'name="bill-city" value="Lyon"' in chosen.text
    # The ship address was typed: it stays.
    assert 'name="ship-city" value="Lyon"' in chosen.text

    bob = factories.customer(world.shop, bill_address=factories.address(city="Annecy"))
    switched = manager_client.post(
        _new(world.shop), _form(world, customer_id=str(bob.pk), save="", refresh="1")
    )
    assert 'name="bill-city" value="Annecy"' in switched.text


def test_blank_addresses_default_to_the_customers_when_saved(manager_client, world):
    form = {**_form(world, lines=[(world.carrots, 1)]), **_blank("bill", "ship")}
    del form["ship-same_as_bill"]
    response = manager_client.post(_new(world.shop), form)

    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.bill_address["city"] == "Lyon"
    assert subscription.ship_address["city"] == "Villeurbanne"


def test_a_product_no_cycle_sells_is_flagged_and_estimates_follow(manager_client, world):
    """Honey is in no cycle of the schedule: its line warns, and the estimate counts only
    what the next cycle sells, plus the shipping fee."""
    response = manager_client.post(
        _new(world.shop),
        _form(world, lines=[(world.carrots, 2), (world.honey, 1)], refresh="1", save=""),
    )

    html = response.text
    assert f'id="line-{world.honey.pk}-warning"' in html
    assert f'id="line-{world.carrots.pk}-warning"' not in html
    assert re.search(r'id="estimate-items">€9.00<', html)
    assert re.search(r'id="estimate-fees">€2.00', html)
    assert re.search(r'id="estimate-total">€11.00<', html)


def test_removing_a_product_keeps_the_others(manager_client, world):
    response = manager_client.post(
        _new(world.shop),
        _form(
            world,
            lines=[(world.carrots, 2), (world.eggs, 5)],
            remove_variant=str(world.carrots.pk),
            save="",
        ),
    )

    assert f'name="quantity-{world.carrots.pk}"' not in response.text
    assert f'id="id_quantity-{world.eggs.pk}" value="5"' in response.text


# --- editing ----------------------------------------------------------------------------------


def _placed(world, lines):
    """A subscription whose order is placed in the open cycle, by the real engine."""
    subscription = _subscribe(world, lines)
    place_cycle(order_cycle=world.cycle)
    proxy = subscription.proxy_orders.get(order_cycle=world.cycle)
    assert proxy.state == ProxyOrderState.PLACED
    return subscription, proxy.order


def _edit_form(world, subscription, **overrides) -> dict:
    data = _form(world, **overrides)
    for key in ("customer_id", "schedule_id", "addresses_from"):
        data.pop(key)
    data["begins_at"] = timezone.localtime(subscription.begins_at).date().isoformat()
    return data


def test_an_edit_of_quantities_updates_the_placed_order_of_the_open_cycle(manager_client, world):
    subscription, order = _placed(world, [(world.carrots, 2)])
    form = _edit_form(world, subscription, lines=[(world.carrots, 5)])
    form.update(_address("bill", **subscription.bill_address))
    form.update(_address("ship", **subscription.ship_address))

    page = manager_client.get(_edit(world.shop, subscription))
    assert page.status_code == 200
    assert f'id="id_quantity-{world.carrots.pk}" value="2"' in page.text
    assert 'name="customer_id"' not in page.text

    response = manager_client.post(_edit(world.shop, subscription), form)

    assert response.status_code == 302
    assert response["Location"] == _page_of(world.shop, subscription)
    line = LineItem.objects.get(order=order, variant=world.carrots)
    assert (line.quantity, line.requested_quantity) == (5, 5)
    order.refresh_from_db()
    assert order.item_total == Decimal("22.50")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["The subscription of Alice Durand is saved."]


def test_orders_that_could_not_follow_an_edit_are_listed(manager_client, world):
    """Honey is not sold in the open cycle: the placed order cannot get it, and the page the
    manager lands on says which order, in which cycle, and why."""
    subscription, order = _placed(world, [(world.carrots, 2)])
    form = _edit_form(world, subscription, lines=[(world.carrots, 2), (world.honey, 1)])
    form.update(_address("bill", **subscription.bill_address))
    form.update(_address("ship", **subscription.ship_address))

    response = manager_client.post(_edit(world.shop, subscription), form, follow=False)

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("could not be changed" in m for m in messages)
    assert (
        f"Order {order.number} (Week 49): Honey - 1 kg is not available in this order cycle"
        in messages
    )
    assert not LineItem.objects.filter(order=order, variant=world.honey).exists()


def test_an_unchanged_start_day_keeps_the_start_moment(manager_client, world):
    """The form shows days: saving an order-placed subscription without touching its start
    day does not try to move it (which the service refuses once an order is placed)."""
    subscription, _order = _placed(world, [(world.carrots, 2)])
    form = _edit_form(world, subscription, lines=[(world.carrots, 3)])
    form.update(_address("bill", **subscription.bill_address))
    form.update(_address("ship", **subscription.ship_address))
    before = subscription.begins_at

    response = manager_client.post(_edit(world.shop, subscription), form)

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.begins_at == before


def test_editing_a_canceled_subscription_says_why_not(manager_client, world):
    subscription = _subscribe(world, [(world.carrots, 1)])
    lifecycle.subscription_cancel(subscription=subscription, open_orders="keep")
    form = _edit_form(world, subscription, lines=[(world.carrots, 3)])

    response = manager_client.post(_edit(world.shop, subscription), form)

    assert response.status_code == 200
    assert "This subscription is canceled and cannot be changed." in response.text


def test_an_edit_cannot_leave_a_subscription_without_products(manager_client, world):
    subscription = _subscribe(world, [(world.carrots, 1)])
    form = _edit_form(world, subscription)

    response = manager_client.post(_edit(world.shop, subscription), form)

    assert "Please add at least one product" in _errors(response.text, "line_items")
    assert subscription.line_items.count() == 1


def test_another_shops_subscription_is_not_found(manager_client, world):
    other = factories.shop("Elsewhere")
    subscription = factories.subscription(other, factories.customer(other))

    assert manager_client.get(_edit(world.shop, subscription)).status_code == 404
    assert manager_client.get(_edit(other, subscription)).status_code == 404


# --- the searches -----------------------------------------------------------------------------


def _variants_url(shop, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/manage/{shop.pk}/subscriptions/form/variants/?{query}"


def _customers_url(shop, q) -> str:
    return f"/manage/{shop.pk}/subscriptions/form/customers/?customer_q={q}"


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_product_search_finds_by_name_and_sku_never_another_shops(manager_client, world):
    other = factories.shop("Elsewhere")
    theirs = _variant(other, "Carrots from elsewhere", "CAR-9", "1.00")

    by_name = manager_client.get(_variants_url(world.shop, q="carr"), **HTMX)
    by_sku = manager_client.get(_variants_url(world.shop, q="hon-1"), **HTMX)
    leaving_out = manager_client.get(_variants_url(world.shop, q="e", lines=world.eggs.pk), **HTMX)
    flagged = manager_client.get(
        _variants_url(world.shop, q="honey", schedule_id=world.schedule.pk), **HTMX
    )

    assert f'name="add_variant" value="{world.carrots.pk}"' in by_name.text
    assert f'value="{theirs.pk}"' not in by_name.text and "elsewhere" not in by_name.text
    assert (
        f'name="add_variant" value="{world.honey.pk}"' in by_sku.text
        and "Carrots" not in by_sku.text
    )
    assert f'name="add_variant" value="{world.eggs.pk}"' not in leaving_out.text
    assert "in no open or upcoming order cycle of this schedule" in flagged.text


def test_the_product_search_shows_a_limited_number_of_matches(manager_client, shop):
    product = factories.variant(shop, product_name="Apples").product
    Variant.objects.bulk_create(
        [Variant(product=product, name=f"Box {i}", unit="kg", price=1) for i in range(60)]
    )

    response = manager_client.get(_variants_url(shop, q="apples"), **HTMX)

    assert response.text.count('name="add_variant"') == 30
    assert "Only the first 30 matches are shown" in response.text


def test_a_search_without_htmx_goes_to_the_form(manager_client, shop):
    response = manager_client.get(_variants_url(shop, q="eggs"))

    assert response.status_code == 302
    assert response["Location"] == f"{_new(shop)}?q=eggs"
    assert manager_client.get(response["Location"]).status_code == 200


def test_the_customer_search_finds_by_email_and_name_never_another_shops(manager_client, world):
    other = factories.shop("Elsewhere")
    factories.customer(other, "alice.other@example.org", first_name="Alice")

    by_name = manager_client.get(_customers_url(world.shop, "durand"), **HTMX)
    by_email = manager_client.get(_customers_url(world.shop, "alice"), **HTMX)
    nobody = manager_client.get(_customers_url(world.shop, "zoe"), **HTMX)

    assert f'value="{world.customer.pk}"' in by_name.text
    assert "alice@example.org" in by_email.text and "alice.other" not in by_email.text
    assert "No customer matches “zoe”" in nobody.text


def test_the_customer_search_shows_a_limited_number_of_matches(manager_client, shop):
    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"c{i:03}@example.org") for i in range(40)]
    )

    response = manager_client.get(_customers_url(shop, "example"), **HTMX)

    assert response.text.count('name="customer_id"') == 20
    assert "Only the first 20 matches are shown" in response.text


# --- who may see it -----------------------------------------------------------------------------


def test_outsiders_see_nothing(world, assert_hidden):
    subscription = _subscribe(world, [(world.carrots, 1)])
    for url in (
        _new(world.shop),
        _edit(world.shop, subscription),
        _variants_url(world.shop, q="carr"),
        _customers_url(world.shop, "alice"),
    ):
        assert_hidden(url)
    assert_hidden(_new(world.shop), method="post", data=_form(world, lines=[(world.eggs, 1)]))
    assert_hidden(_edit(world.shop, subscription), method="post", data={"save": "1"})
    assert Subscription.objects.count() == 1


# --- queries ------------------------------------------------------------------------------------


def test_the_form_runs_as_many_queries_for_40_lines_as_for_4(manager_client, world, count_queries):
    product = world.carrots.product
    variants = Variant.objects.bulk_create(
        [Variant(product=product, name=f"Box {i}", unit="kg", price=1) for i in range(40)]
    )
    world.cycle.variants.add(*variants)
    small = _subscribe(world, [(v, 1) for v in variants[:4]])
    large = _subscribe(world, [(v, 2) for v in variants])

    at_4 = count_queries(manager_client, _edit(world.shop, small) + "?q=box")
    at_40 = count_queries(manager_client, _edit(world.shop, large) + "?q=box")

    assert at_40 == at_4


def test_the_searches_run_as_many_queries_for_500_rows_as_for_10(
    manager_client, shop, count_queries
):
    product = factories.variant(shop, product_name="Apples").product
    Variant.objects.bulk_create(
        [Variant(product=product, name=f"Box {i}", unit="kg", price=1) for i in range(10)]
    )
    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"c{i}@example.org") for i in range(10)]
    )
    schedule = factories.schedule(shop)

    def counts():
        with_htmx = {"HTTP_HX_REQUEST": "true"}
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for url in (
            _variants_url(shop, q="apples", schedule_id=schedule.pk),
            _customers_url(shop, "example"),
        ):
            with CaptureQueriesContext(connection) as queries:
                assert manager_client.get(url, **with_htmx).status_code == 200
            result.append(len(queries.captured_queries))
        return result

    at_10 = counts()
    Variant.objects.bulk_create(
        [Variant(product=product, name=f"Crate {i}", unit="kg", price=1) for i in range(490)]
    )
    Customer.objects.bulk_create(
        [Customer(shop=shop, email=f"d{i}@example.org") for i in range(490)]
    )

    assert counts() == at_10


# --- in a browser -------------------------------------------------------------------------------


@pytest.fixture
def phone_page(monkeypatch, live_server, request):
    from tests.support.browser import chromium_page

    # (Depending on live_server makes the browser close first, ending its connections.)
    yield from chromium_page(monkeypatch, request, viewport={"width": 390, "height": 844})


def _browser_world() -> dict:
    manager = factories.user("marie-christine.delaunay@tilleuls.fr", password="pw")
    shop = factories.shop(
        "Ferme des Tilleuls et Jardins de la Vallée", managers=[manager], timezone="Europe/Paris"
    )
    world = World(shop)
    world.customer.first_name = "Marie-Christine"
    world.customer.email = "marie-christine.delaunay-beaumont@exemple-tres-long.fr"
    world.customer.save()
    return {
        "shop": shop.pk,
        "customer": world.customer.pk,
        "schedule": world.schedule.pk,
        "carrots": world.carrots.pk,
        "honey": world.honey.pk,
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_form_in_a_phones_browser(phone_page, live_server, language):
    """On a 390 px wide phone, with htmx: the customer found as you type and chosen fills in
    the addresses, a product found as you type is added in place, a quantity changes the
    estimate, and saving creates the subscription. Nothing scrolls sideways, and the
    Content-Security-Policy refuses nothing."""
    from playwright.sync_api import expect

    from tests.support.browser import in_db

    page = phone_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    ids = in_db(_browser_world)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "marie-christine.delaunay@tilleuls.fr")
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    problems.clear()  # (the sign-in page asks for a favicon the test server does not have)
    page.goto(f"{live_server.url}/manage/{ids['shop']}/subscriptions/new/")

    page.fill("#id_customer_q", "delaunay")
    page.locator(f"#customer-results-list #customer-{ids['customer']}").check()
    expect(page.locator("#customer-chosen")).to_be_visible()
    expect(page.locator("[name=bill-city]")).to_have_value("Lyon")
    page.select_option("#id_schedule_id", str(ids["schedule"]))
    expect(page.locator("#review-summary")).to_contain_text("Weekly box")
    page.select_option("#id_shipping_method_id", index=1)
    expect(page.locator("#review-summary")).to_contain_text("Home delivery")
    # Typing a search while the form comes back from the server: nothing typed is lost.
    page.select_option("#id_payment_method_id", index=1)
    page.locator("#id_q").press_sequentially("CAR-1", delay=10)
    page.locator(f"#subscription-variant-list button[value='{ids['carrots']}']").click()
    expect(page.locator("#review-summary")).to_contain_text("Cash")
    quantity = page.locator(f"#id_quantity-{ids['carrots']}")
    expect(quantity).to_have_value("1")
    quantity.fill("2")
    quantity.dispatch_event("change")
    total = "€11.00" if language == "en" else "11,00\u00a0€"
    expect(page.locator("#estimate-total")).to_have_text(total)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    with page.expect_navigation():
        page.locator("button[name=save]").click()

    assert "/subscriptions/new/" not in page.url
    subscription = in_db(lambda: Subscription.objects.get())
    assert page.url.endswith(f"/subscriptions/{subscription.pk}/")
    assert not problems, problems
