"""The shop manager's weekly work with subscriptions in a real browser, on a phone's width:
a subscription created through the form (customer and product found by search), its order
placed when the cycle opens (`cadence tick`), seen in the cycle's orders and results, followed
by an edit of the quantities, canceled by a pause, and the next cycle's forecast showing a
shortfall; then the same creation in French.

Each flow goes through the pages only (links, forms, buttons); the database is read between
browser steps with `in_db`, and written directly only to build the starting point (and to
move the first cycle's opening into the past, as time would). Every page visited fits 390 px
without scrolling sideways and reports no Content-Security-Policy violation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.cli import main as cadence_main
from cadence.cycles.models import OrderCycle
from cadence.orders.models import Order, OrderState
from cadence.subscriptions.models import ProxyOrderState, Subscription, SubscriptionEvent
from cadence.subscriptions.services import lifecycle
from tests.support import factories
from tests.support.browser import (
    PHONE_WIDTH,
    in_db,
    playwright_expect,
    text_of,
    violations,
    watch_csp,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "secret-pw-42"
MANAGER = "claire@tilleuls.fr"


# --- What a manager reads and clicks, per language ---------------------------------------------


@dataclass(frozen=True)
class Texts:
    language: str
    sign_in: str
    subscriptions: str
    new_subscription: str
    details: str
    products: str
    begins_on: str
    create: str
    created: str
    estimate_total: str


ENGLISH = Texts(
    language="en",
    sign_in="Sign in",
    subscriptions="Subscriptions",
    new_subscription="New subscription",
    details="1. Details",
    products="3. Products",
    begins_on="Begins on",
    create="Create the subscription",
    created="The subscription of Ann Martin is created.",
    estimate_total="€7.00",
)

FRENCH = Texts(
    language="fr",
    sign_in="Se connecter",
    subscriptions="Abonnements",
    new_subscription="Nouvel abonnement",
    details="1. Informations",
    products="3. Produits",
    begins_on="Commence le",
    create="Créer l'abonnement",
    created="L'abonnement de Ann Martin est créé.",
    estimate_total="7,00 €",
)


# --- The starting point: a shop whose set-up is complete ---------------------------------------


def _variant(shop, name: str, sku: str, price: str, on_hand: int) -> Variant:
    variant = factories.variant(shop, product_name=name, name="1 kg bag", price=price)
    variant.sku, variant.on_hand = sku, on_hand
    variant.save(update_fields=["sku", "on_hand"])
    return variant


def _world() -> dict:
    """Subscriptions on, a manual payment method, a shipping method, two customers with
    addresses, two products with SKUs and stock, and a weekly schedule of two cycles: "Week 1"
    opening in a few minutes and "Week 2" the week after. Bob already subscribes to 30 kg of
    carrots a week; the carrots' stock (50) covers one week of everybody, not two."""
    manager = factories.user(MANAGER, password=PASSWORD)
    shop = factories.shop("Ferme des Tilleuls", managers=[manager], timezone="Europe/Paris")
    payment = factories.payment_method(shop, name="Cash at pick-up")
    shipping = factories.shipping_method(shop, name="Pick-up at the farm", fee="0.00")
    ann = factories.customer(
        shop,
        "ann.martin@example.org",
        first_name="Ann",
        last_name="Martin",
        bill_address=factories.address(first_name="Ann", last_name="Martin", city="Lyon"),
        ship_address=factories.address(first_name="Ann", last_name="Martin", city="Lyon"),
    )
    bob = factories.customer(shop, "bob.durand@example.org", first_name="Bob", last_name="Durand")
    carrots = _variant(shop, "Carrots", "CAR-1KG", "3.50", 50)
    # A second product whose name also says "carrot": only the SKU tells them apart.
    cake = _variant(shop, "Carrot cake", "CAKE-1", "12.00", 10)
    now = timezone.now()
    week1 = factories.order_cycle(
        shop,
        name="Week 1",
        opens_at=now + timedelta(minutes=5),
        closes_at=now + timedelta(days=3),
        variants=[carrots, cake],
    )
    week2 = factories.order_cycle(
        shop,
        name="Week 2",
        opens_at=now + timedelta(days=7),
        closes_at=now + timedelta(days=10),
        variants=[carrots, cake],
    )
    schedule = factories.schedule(shop, [week1, week2], name="Weekly")
    lifecycle.subscription_create(
        shop=shop,
        customer_id=bob.pk,
        schedule_id=schedule.pk,
        payment_method_id=payment.pk,
        shipping_method_id=shipping.pk,
        begins_at=now - timedelta(days=1),
        line_items=[{"variant_id": carrots.pk, "quantity": 30}],
    )
    return {
        "shop": shop.pk,
        "ann": ann.pk,
        "carrots": carrots.pk,
        "week1": week1.pk,
        "week2": week2.pk,
    }


# --- Steps shared by the tests ------------------------------------------------------------------


class Tour:
    """The browser's page, with every page visited checked for a phone's width and the
    Content-Security-Policy."""

    def __init__(self, page, live_server, shop: int):
        self.page, self.base = page, f"{live_server.url}/manage/{shop}"
        self.complaints = watch_csp(page)
        self.too_wide: dict[str, int] = {}
        self.refused: dict[str, list[str]] = {}

    def check(self) -> None:
        """The page on screen fits the phone and the policy refused nothing on it."""
        page = self.page
        path = page.url.split("/manage/", 1)[-1]
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            self.too_wide[path] = width
        refused = violations(page)
        if refused:
            self.refused[path] = refused

    def follow(self, locator) -> None:
        with self.page.expect_navigation():
            locator.click()
        self.check()

    def main_link(self, label: str) -> None:
        self.follow(self.page.locator("main").get_by_role("link", name=label, exact=True))

    def tab(self, label: str) -> None:
        self.follow(self.page.locator("nav.areas").get_by_role("link", name=label, exact=True))

    def assert_clean(self) -> None:
        assert not self.too_wide, f"pages wider than {PHONE_WIDTH}px: {self.too_wide}"
        assert not self.refused and not self.complaints, (self.refused, self.complaints)


def _sign_in(page, live_server, texts: Texts) -> None:
    page.context.add_cookies(
        [{"name": "django_language", "value": texts.language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", MANAGER)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=texts.sign_in, exact=True).click()
    playwright_expect()(page.locator("html")).to_have_attribute("lang", texts.language)


def _message(page) -> str:
    messages = page.locator("ul.messages")
    playwright_expect()(messages).to_be_visible()
    return text_of(messages)


def _create_through_the_form(tour: Tour, ids: dict, texts: Texts) -> int:
    """From the subscriptions list, a subscription for Ann on "Weekly": Ann found by the
    customer search, carrots found by their SKU and added, 2 kg a week; returns its id once
    the browser is on its page."""
    page, expect = tour.page, playwright_expect()
    tour.tab(texts.subscriptions)
    tour.main_link(texts.new_subscription)
    expect(page.locator("main h1")).to_have_text(texts.new_subscription)
    expect(page.locator("#details-title")).to_have_text(texts.details)
    expect(page.locator("#products-title")).to_have_text(texts.products)
    assert texts.begins_on in text_of(page.locator("label[for=id_begins_at]"))
    expect(page.locator("button[name=save]")).to_have_text(texts.create)

    page.fill("#id_customer_q", "martin")
    found = page.locator(f"#customer-results-list #customer-{ids['ann']}")
    expect(found).to_have_count(1)
    found.check()
    expect(page.locator("#customer-chosen")).to_contain_text("ann.martin@example.org")
    expect(page.locator("[name=bill-city]")).to_have_value("Lyon")
    page.select_option("#id_schedule_id", label="Weekly")
    expect(page.locator("#review-summary")).to_contain_text("Weekly")
    page.select_option("#id_shipping_method_id", label="Pick-up at the farm")
    expect(page.locator("#review-summary")).to_contain_text("Pick-up at the farm")
    page.select_option("#id_payment_method_id", label="Cash at pick-up")
    expect(page.locator("#review-summary")).to_contain_text("Cash at pick-up")
    today = timezone.localtime(timezone.now(), PARIS).date()
    expect(page.locator("#id_begins_at")).to_have_value(today.isoformat())

    # The SKU finds the carrots alone (the carrot cake's name would match "carrot").
    page.locator("#id_q").press_sequentially("CAR-1KG", delay=10)
    results = page.locator("#subscription-variant-list li")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Carrots")
    results.locator(f"button[value='{ids['carrots']}']").click()
    quantity = page.locator(f"#id_quantity-{ids['carrots']}")
    expect(quantity).to_have_value("1")
    quantity.fill("2")
    quantity.dispatch_event("change")
    expect(page.locator("#estimate-total")).to_have_text(
        re.compile(re.escape(texts.estimate_total).replace(r"\ ", r"\s"))
    )
    tour.check()  # the form, with its search results and its line

    tour.follow(page.locator("button[name=save]"))
    assert texts.created in _message(page)
    subscription = in_db(lambda: Subscription.objects.get(customer_id=ids["ann"]))
    assert page.url == f"{tour.base}/subscriptions/{subscription.pk}/"
    return subscription.pk


def _tick(capsys) -> str:
    """`cadence tick`, as the operator (or the worker's minute) runs it, in-process against
    the test database."""
    capsys.readouterr()
    code = in_db(lambda: cadence_main(["tick"]))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


# --- 1 to 6 and 8: the week's work, in English ---------------------------------------------------


def test_a_managers_week_with_subscriptions_on_a_phone(phone_page, live_server, capsys):
    """On a 390 px phone, the manager creates Ann's subscription through the form (customer
    and product found by search, the product by its SKU); when the cycle opens, `cadence
    tick` places her order and Bob's, which the cycle's orders and results show; raising
    Ann's quantity to 3 changes her placed order; pausing her subscription with "cancel
    them" cancels that order, puts the carrots back in stock and shows in the history; the
    next cycle's forecast shows the carrots short of what Bob asks. No page scrolls sideways
    or breaks the Content-Security-Policy."""
    page, expect = phone_page, playwright_expect()
    ids = in_db(_world)
    tour = Tour(page, live_server, ids["shop"])
    _sign_in(page, live_server, ENGLISH)

    # 1. The subscription, through the form.
    subscription_id = _create_through_the_form(tour, ids, ENGLISH)
    subscription_url = page.url
    expect(page.locator("table.subscription-lines tbody tr")).to_have_count(1)
    assert "Carrots" in text_of(page.locator("table.subscription-lines"))
    expect(page.locator("table.deliveries tbody tr[data-state=pending]")).to_have_count(2)
    assert "Created the subscription." in text_of(page.locator("ol.history"))

    def created():
        sub = Subscription.objects.get(pk=subscription_id)
        return {
            "lines": list(sub.line_items.values_list("variant_id", "quantity")),
            "schedule": sub.schedule.name,
            "methods": (sub.payment_method.name, sub.shipping_method.name),
            "begins": timezone.localtime(sub.begins_at, PARIS).replace(tzinfo=None),
            "ship_city": (sub.ship_address or {}).get("city"),
        }

    row = in_db(created)
    today = timezone.localtime(timezone.now(), PARIS).date()
    assert row["lines"] == [(ids["carrots"], 2)]
    assert row["schedule"] == "Weekly"
    assert row["methods"] == ("Cash at pick-up", "Pick-up at the farm")
    assert row["begins"] == datetime(today.year, today.month, today.day)
    assert row["ship_city"] == "Lyon"

    # 2. Week 1 opens (time moves on), and the tick places the orders.
    in_db(
        lambda: OrderCycle.objects.filter(pk=ids["week1"]).update(
            opens_at=timezone.now() - timedelta(minutes=1)
        )
    )
    out = _tick(capsys)
    assert "placed Ferme des Tilleuls / Week 1" in out

    def placed():
        orders = Order.objects.filter(order_cycle_id=ids["week1"]).order_by("customer__email")
        return [
            (o.pk, o.customer.email, o.state, [li.quantity for li in o.line_items.all()])
            for o in orders
        ]

    orders = in_db(placed)
    assert [(email, state, q) for _pk, email, state, q in orders] == [
        ("ann.martin@example.org", OrderState.COMPLETE, [2]),
        ("bob.durand@example.org", OrderState.COMPLETE, [30]),
    ]
    ann_order = orders[0][0]
    assert in_db(lambda: Variant.objects.get(pk=ids["carrots"]).on_hand) == 18

    # 3. The cycle's orders and its placement results.
    tour.tab("Order cycles")
    tour.follow(page.locator("main table").get_by_role("link", name="Week 1", exact=True))
    tour.main_link("Orders")
    table = page.locator("main table")
    expect(table.locator("tbody tr")).to_have_count(2)
    ann_row = table.locator("tbody tr", has_text="ann.martin@example.org")
    assert "2 items" in text_of(ann_row) and "Carrots" in text_of(ann_row)
    tour.main_link("Results")
    expect(page.locator("#placement")).to_contain_text("2 orders placed.")
    assert "Ann Martin" in text_of(page.locator("#placement"))

    # 4. Ann's quantity goes up to 3; her placed order follows.
    tour.tab("Subscriptions")
    tour.follow(page.locator("main table").get_by_role("link", name="Ann Martin"))
    assert page.url == subscription_url
    placed_row = page.locator("table.deliveries tbody tr", has_text="Week 1")
    expect(placed_row).to_have_attribute("data-state", ProxyOrderState.PLACED)
    tour.main_link("Edit")
    quantity = page.locator(f"#id_quantity-{ids['carrots']}")
    expect(quantity).to_have_value("2")
    quantity.fill("3")
    quantity.dispatch_event("change")
    expect(page.locator("#estimate-total")).to_have_text("€10.50")
    tour.follow(page.locator("button[name=save]"))
    assert "The subscription of Ann Martin is saved." in _message(page)
    assert page.url == subscription_url
    history = text_of(page.locator("ol.history"))
    assert "Changed the subscription." in history
    tour.follow(placed_row.locator("a"))
    assert page.url.endswith(f"/orders/{ann_order}/")
    line = page.locator("table.order-lines tbody tr", has_text="Carrots")
    expect(line.locator("td[data-label='Asked for']")).to_have_text("3")
    expect(line.locator("td[data-label='Given']")).to_have_text("3")
    assert in_db(
        lambda: list(Order.objects.get(pk=ann_order).line_items.values_list("quantity", flat=True))
    ) == [3]
    assert in_db(lambda: Variant.objects.get(pk=ids["carrots"]).on_hand) == 17

    # 5. A pause that cancels the order already placed.
    tour.main_link("See the subscription it came from")
    tour.main_link("Pause")
    expect(page.locator("main h1")).to_have_text("Pause the subscription")
    expect(page.locator("ul.placed-orders li")).to_have_count(1)
    assert "Week 1" in text_of(page.locator("ul.placed-orders"))
    page.get_by_label("Cancel them: their products go back in stock.").check()
    tour.follow(page.locator("main").get_by_role("button", name="Pause the subscription"))
    assert "The subscription of Ann Martin is paused." in _message(page)
    assert page.url.startswith(subscription_url)
    expect(page.locator(".subscription-status .status")).to_have_text("Paused")
    expect(placed_row).to_have_attribute("data-state", ProxyOrderState.CANCELED)
    latest = page.locator("ol.history > li").first
    assert "Paused the subscription." in text_of(latest)
    assert "Orders canceled:" in text_of(latest)
    tour.follow(placed_row.locator("a"))
    expect(page.locator("main dl.meta .status").first).to_have_text("Canceled")

    def after_pause():
        order = Order.objects.get(pk=ann_order)
        sub = Subscription.objects.get(pk=subscription_id)
        return {
            "order": order.state,
            "paused": sub.paused_at is not None,
            "on_hand": Variant.objects.get(pk=ids["carrots"]).on_hand,
            "events": list(
                SubscriptionEvent.objects.filter(subscription=sub)
                .order_by("created_at", "pk")
                .values_list("kind", flat=True)
            ),
        }

    state = in_db(after_pause)
    assert state["order"] == OrderState.CANCELED
    assert state["paused"] is True
    assert state["on_hand"] == 20  # Ann's 3 kg back in stock; Bob's 30 kg still taken
    assert state["events"] == ["created", "updated", "paused"]

    # 6. Week 2's forecast: Bob asks for 30 kg of carrots, 20 are left (Ann is paused).
    tour.tab("Order cycles")
    tour.follow(page.locator("main table").get_by_role("link", name="Week 2", exact=True))
    tour.main_link("Forecast")
    expect(page.locator("#short-count")).to_have_text("1")
    expect(page.locator("#units-missing")).to_have_text("10")
    assert "One product has less stock than subscriptions ask for" in text_of(page.locator("main"))
    short_row = page.locator("main table tbody tr[data-short=true]")
    expect(short_row).to_have_count(1)
    assert "Carrots" in text_of(short_row)

    tour.assert_clean()


# --- 7 and 8: the creation in French -------------------------------------------------------------


def test_the_subscription_is_created_in_french_on_a_phone(phone_page, live_server):
    """In French, the same creation reads in French (the list's link, the form's title and
    button, the amounts, the message on the subscription's page) and saves the same rows; no
    page scrolls sideways or breaks the Content-Security-Policy."""
    page, expect = phone_page, playwright_expect()
    ids = in_db(_world)
    tour = Tour(page, live_server, ids["shop"])
    _sign_in(page, live_server, FRENCH)

    subscription_id = _create_through_the_form(tour, ids, FRENCH)
    expect(page.locator("#history-title")).to_have_text("Historique")
    assert "A créé l’abonnement." in text_of(page.locator("ol.history"))
    lines = in_db(
        lambda: list(
            Subscription.objects.get(pk=subscription_id).line_items.values_list(
                "variant_id", "quantity"
            )
        )
    )
    assert lines == [(ids["carrots"], 2)]
    tour.assert_clean()
