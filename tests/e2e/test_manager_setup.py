"""The shop manager's set-up in a real browser: from a bare shop to a complete checklist, in
English and in French, on a phone's width, and with bad input in each form.

Each flow goes through the pages only (links, forms, buttons); the database is read between
browser steps with `in_db`, and written directly only to build the starting point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cadence.catalog.models import Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.enterprises.services import enterprise_create
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from tests.support import factories
from tests.support.browser import PHONE_WIDTH, in_db, playwright_expect, text_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "secret-pw-42"
STEPS = 7  # the setup checklist's steps

# The abbreviated months each language writes in dates (CLDR's, as managers read them).
MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
    "fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.".split(),
}


# --- What a manager reads and clicks, per language ---------------------------------------------


@dataclass(frozen=True)
class Texts:
    language: str
    sign_in: str
    overview: str
    settings: str
    enable_subscriptions: str
    save_settings: str
    settings_saved: str
    payment_methods: str
    add_payment_method: str
    add_the_payment_method: str
    payment_method_added: str
    shipping_methods: str
    add_shipping_method: str
    add_the_shipping_method: str
    shipping_method_added: str
    customers: str
    add_customer: str
    add_the_customer: str
    customer_added: str
    products: str
    add_product: str
    save_product: str
    product_added: str
    price_shown: str
    order_cycles: str
    new_order_cycle: str
    add_fee: str
    create_order_cycle: str
    order_cycle_created: str
    schedules: str
    new_schedule: str
    create_schedule: str
    schedule_created: str


ENGLISH = Texts(
    language="en",
    sign_in="Sign in",
    overview="Overview",
    settings="Settings",
    enable_subscriptions="Enable subscriptions",
    save_settings="Save settings",
    settings_saved="The shop's settings are saved.",
    payment_methods="Payment methods",
    add_payment_method="Add a payment method",
    add_the_payment_method="Add the payment method",
    payment_method_added="The payment method “Cash at pick-up” is added.",
    shipping_methods="Shipping methods",
    add_shipping_method="Add a shipping method",
    add_the_shipping_method="Add the shipping method",
    shipping_method_added="The shipping method “Pick-up at the farm” is added.",
    customers="Customers",
    add_customer="Add a customer",
    add_the_customer="Add the customer",
    customer_added="ann.martin@example.org is on the customer list.",
    products="Products",
    add_product="Add a product",
    save_product="Save the product",
    product_added="Product “Carrots” added.",
    price_shown="€3.50",
    order_cycles="Order cycles",
    new_order_cycle="New order cycle",
    add_fee="Add a fee",
    create_order_cycle="Create the order cycle",
    order_cycle_created="The order cycle “Week 1” is created.",
    schedules="Schedules",
    new_schedule="New schedule",
    create_schedule="Create the schedule",
    schedule_created="The schedule “Weekly” is created.",
)

FRENCH = Texts(
    language="fr",
    sign_in="Se connecter",
    overview="Vue d'ensemble",
    settings="Paramètres",
    enable_subscriptions="Activer les abonnements",
    save_settings="Enregistrer les paramètres",
    settings_saved="Les paramètres de la boutique sont enregistrés.",
    payment_methods="Moyens de paiement",
    add_payment_method="Ajouter un moyen de paiement",
    add_the_payment_method="Ajouter le moyen de paiement",
    payment_method_added="Le moyen de paiement « Cash at pick-up » est ajouté.",
    shipping_methods="Modes de livraison",
    add_shipping_method="Ajouter un mode de livraison",
    add_the_shipping_method="Ajouter le mode de livraison",
    shipping_method_added="Le mode de livraison « Pick-up at the farm » est ajouté.",
    customers="Clients",
    add_customer="Ajouter un client",
    add_the_customer="Ajouter le client",
    customer_added="ann.martin@example.org figure maintenant dans la liste des clients.",
    products="Produits",
    add_product="Ajouter un produit",
    save_product="Enregistrer le produit",
    product_added="Produit « Carrots » ajouté.",
    price_shown="3,50 €",
    order_cycles="Cycles de vente",
    new_order_cycle="Nouveau cycle de vente",
    add_fee="Ajouter des frais",
    create_order_cycle="Créer le cycle de vente",
    order_cycle_created="Le cycle de vente « Week 1 » est créé.",
    schedules="Rythmes d'abonnement",
    new_schedule="Nouveau rythme d'abonnement",
    create_schedule="Créer le rythme d'abonnement",
    schedule_created="Le rythme d'abonnement « Weekly » est créé.",
)


# --- Steps shared by the tests ----------------------------------------------------------------


def _sign_in(page, email: str, *, button: str = "Sign in") -> None:
    """Sign in on the sign-in page the browser is on."""
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=button, exact=True).click()


def _submit(page, label: str) -> None:
    """Press the page's button `label` and wait for the page that answers."""
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=label, exact=True).click()


def _follow(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def _tab(page, label: str) -> None:
    """Go to an area through the back office's tabs."""
    _follow(page, page.locator("nav.areas").get_by_role("link", name=label, exact=True))


def _main_link(page, label: str) -> None:
    _follow(page, page.locator("main").get_by_role("link", name=label, exact=True))


def _assert_title(page, title: str) -> None:
    playwright_expect()(page.locator("main h1")).to_have_text(title)


def _assert_message(page, message: str) -> None:
    messages = page.locator("ul.messages")
    playwright_expect()(messages).to_be_visible()
    assert message in text_of(messages)


def _home_step(page, texts: Texts, *, done: int, step: int) -> None:
    """From the manager home (reached by its tab), with `done` steps ticked, follow the link
    of step `step` (1-based) of the checklist."""
    _tab(page, texts.overview)
    expect = playwright_expect()
    expect(page.locator("ol.steps li[data-done=true]")).to_have_count(done)
    expect(page.locator("ol.steps li[data-done=false]")).to_have_count(STEPS - done)
    _follow(page, page.locator(f"ol.steps > li:nth-child({step}) a"))


def _cycle_times() -> tuple[datetime, datetime]:
    """Tomorrow at 18:00 and a week from today at 18:00, on the shop's (Paris) clock."""
    today = datetime.now(PARIS).replace(tzinfo=None)
    opens = (today + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    closes = (today + timedelta(days=7)).replace(hour=18, minute=0, second=0, microsecond=0)
    return opens, closes


def _written_date(moment: datetime, language: str) -> str:
    """A wall-clock time as the lists write it: `2 Dec 2026, 18:00` or `2 déc. 2026 18:00`."""
    month = MONTHS[language][moment.month - 1]
    comma = "," if language == "en" else ""
    return f"{moment.day} {month} {moment.year}{comma} {moment:%H:%M}"


def _setup_flow(page, live_server, texts: Texts) -> None:
    """A manager of a bare shop signs in and sets it up through the pages, in the page's
    language; the rows are then checked in the database."""
    expect = playwright_expect()

    def world():
        shop = enterprise_create(name="Ferme des Tilleuls", contact_email="bonjour@tilleuls.fr")
        manager = factories.user("claire@tilleuls.fr", password=PASSWORD)
        shop.managers.add(manager)
        return shop

    shop = in_db(world)
    assert shop.enable_subscriptions is False

    page.goto(f"{live_server.url}/accounts/login/")
    if texts.language != "en":
        # What a visitor does: the header's language selector, then its button.
        page.select_option("#language", texts.language)
        with page.expect_navigation():
            page.locator("form.language button[type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", texts.language)
    _sign_in(page, "claire@tilleuls.fr", button=texts.sign_in)

    # A manager of one shop lands on its home, with every step to do.
    assert page.url == f"{live_server.url}/manage/{shop.pk}/"
    _assert_title(page, texts.overview)
    expect(page.locator("ol.steps li[data-done=false]")).to_have_count(STEPS)
    expect(page.locator("ol.steps li[data-done=true]")).to_have_count(0)

    # 1. Settings: subscriptions on.
    _follow(page, page.locator("ol.steps > li:nth-child(1) a"))
    _assert_title(page, texts.settings)
    # (Django's labels end with a colon: " :" in French.)
    page.get_by_label(re.compile(rf"^{re.escape(texts.enable_subscriptions)}\s*:?$")).check()
    _submit(page, texts.save_settings)
    _assert_message(page, texts.settings_saved)
    expect(page.locator("#id_enable_subscriptions")).to_be_checked()

    # 2. A manual payment method, with a fee typed the French way.
    _home_step(page, texts, done=1, step=2)
    _assert_title(page, texts.payment_methods)
    _main_link(page, texts.add_payment_method)
    page.fill("#id_name", "Cash at pick-up")
    page.check("input[name=kind][value=manual]")
    page.fill("#id_fee", "0,50")
    _submit(page, texts.add_the_payment_method)
    _assert_message(page, texts.payment_method_added)
    expect(page.locator("main table")).to_contain_text("Cash at pick-up")

    # 3. A pick-up shipping method, through the area tab this time.
    _tab(page, texts.shipping_methods)
    _assert_title(page, texts.shipping_methods)
    _main_link(page, texts.add_shipping_method)
    page.fill("#id_name", "Pick-up at the farm")
    page.check("input[name=requires_address][value=false]")
    page.fill("#id_fee", "1.5")
    _submit(page, texts.add_the_shipping_method)
    _assert_message(page, texts.shipping_method_added)

    # 4. A customer: an email and a name are enough.
    _home_step(page, texts, done=3, step=4)
    _assert_title(page, texts.customers)
    _main_link(page, texts.add_customer)
    page.fill("#id_email", "ann.martin@example.org")
    page.fill("#id_first_name", "Ann")
    page.fill("#id_last_name", "Martin")
    _submit(page, texts.add_the_customer)
    _assert_message(page, texts.customer_added)
    expect(page.locator("main table")).to_contain_text("ann.martin@example.org")

    # 5. A product with one variant, its price typed with a comma whatever the language.
    _home_step(page, texts, done=4, step=5)
    _assert_title(page, texts.products)
    _main_link(page, texts.add_product)
    page.fill("#id_name", "Carrots")
    page.fill("#id_variants-0-name", "1 kg bag")
    page.fill("#id_variants-0-unit", "kg")
    page.fill("#id_variants-0-price", "3,50")
    page.fill("#id_variants-0-on_hand", "20")
    _submit(page, texts.save_product)
    _assert_message(page, texts.product_added)
    assert texts.price_shown in text_of(page.locator("main table"))

    # 6. An order cycle from tomorrow to a week from now, the variant found through the
    # picker's search and ticked, and a fee.
    opens, closes = _cycle_times()
    _home_step(page, texts, done=5, step=6)
    _assert_title(page, texts.order_cycles)
    _main_link(page, texts.new_order_cycle)
    page.fill("#id_name", "Week 1")
    page.fill("#id_opens_at", opens.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_closes_at", closes.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#variant-picker input[type=search]").press_sequentially("carr")
    found = page.locator("#variant-results-list input[name=variant_ids]")
    expect(found).to_have_count(1)
    expect(page.locator("#variant-results-list")).to_contain_text("Carrots")
    found.check()
    ticked = page.locator("#variant-selected input[name=variant_ids]:checked")
    expect(ticked).to_have_count(1)
    # "Add a fee" sends the form back with one more fee row: what was typed and ticked stays.
    _submit(page, texts.add_fee)
    expect(ticked).to_have_count(1)
    expect(page.locator("#id_name")).to_have_value("Week 1")
    expect(page.locator("#id_opens_at")).to_have_value(opens.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_fees-0-name", "Packing")
    page.select_option("#id_fees-0-kind", "per_order")
    page.fill("#id_fees-0-amount", "1,20")
    _submit(page, texts.create_order_cycle)
    _assert_message(page, texts.order_cycle_created)
    row = page.locator("main table tbody tr", has_text="Week 1")
    expect(row).to_have_count(1)
    assert _written_date(opens, texts.language) in text_of(row)

    # 7. A schedule with that cycle, ticked in the two-list picker.
    _home_step(page, texts, done=6, step=7)
    _assert_title(page, texts.schedules)
    _main_link(page, texts.new_schedule)
    page.fill("#id_name", "Weekly")
    available = page.locator("#cycles-available li", has_text="Week 1")
    expect(available).to_have_count(1)
    available.locator("input[name=order_cycle_ids]").check()
    expect(page.locator("#cycles-chosen li", has_text="Week 1")).to_have_count(1)
    expect(page.locator("#cycles-available li")).to_have_count(0)
    _submit(page, texts.create_schedule)
    _assert_message(page, texts.schedule_created)
    expect(page.locator("main table")).to_contain_text("Weekly")

    # Every step is ticked, and the shop's figures show.
    _tab(page, texts.overview)
    _assert_title(page, texts.overview)
    expect(page.locator("ol.steps li[data-done=true]")).to_have_count(STEPS)
    expect(page.locator("ol.steps li[data-done=false]")).to_have_count(0)
    expect(page.locator("#figures-title")).to_be_visible()

    def rows():
        shop_now = Enterprise.objects.get(pk=shop.pk)
        cycle = OrderCycle.objects.get(shop=shop)
        schedule = Schedule.objects.get(shop=shop)
        return {
            "enabled": shop_now.enable_subscriptions,
            "payment": list(
                PaymentMethod.objects.filter(shop=shop).values_list(
                    "name", "kind", "fee", "fee_percent", "active"
                )
            ),
            "shipping": list(
                ShippingMethod.objects.filter(shop=shop).values_list(
                    "name", "requires_address", "fee", "active"
                )
            ),
            "customers": list(
                Customer.objects.filter(shop=shop).values_list("email", "first_name", "last_name")
            ),
            "variants": list(
                Variant.objects.filter(product__supplier=shop).values_list(
                    "product__name", "name", "unit", "price", "on_hand", "on_demand"
                )
            ),
            "cycle": (cycle.name, cycle.opens_at, cycle.closes_at),
            "cycle_variants": list(cycle.variants.values_list("product__name", flat=True)),
            "fees": list(cycle.fees.values_list("name", "kind", "amount")),
            "schedule": (schedule.name, list(schedule.order_cycles.values_list("pk", flat=True))),
            "cycle_pk": cycle.pk,
        }

    found_rows = in_db(rows)
    assert found_rows["enabled"] is True
    assert found_rows["payment"] == [
        ("Cash at pick-up", "manual", Decimal("0.50"), Decimal("0"), True)
    ]
    assert found_rows["shipping"] == [("Pick-up at the farm", False, Decimal("1.50"), True)]
    assert found_rows["customers"] == [("ann.martin@example.org", "Ann", "Martin")]
    assert found_rows["variants"] == [("Carrots", "1 kg bag", "kg", Decimal("3.50"), 20, False)]
    # The typed times are the shop's wall-clock (Paris), stored in UTC.
    assert found_rows["cycle"] == (
        "Week 1",
        opens.replace(tzinfo=PARIS).astimezone(UTC),
        closes.replace(tzinfo=PARIS).astimezone(UTC),
    )
    assert found_rows["cycle_variants"] == ["Carrots"]
    assert found_rows["fees"] == [("Packing", "per_order", Decimal("1.20"))]
    assert found_rows["schedule"] == ("Weekly", [found_rows["cycle_pk"]])


# --- 1 and 2: the set-up, in English and in French ------------------------------------------------


@pytest.mark.parametrize("texts", [ENGLISH, FRENCH], ids=["en", "fr"])
def test_a_new_manager_sets_the_shop_up_through_the_checklist(browser_page, live_server, texts):
    """A manager of a shop staff just created (subscriptions off, nothing else) signs in,
    lands on the shop's home with 7 steps to do, and through the pages alone turns
    subscriptions on, adds a manual payment method, a shipping method, a customer, a product
    (price typed `3,50`), an order cycle from tomorrow to next week with that product picked
    by search and a fee, and a schedule with that cycle: every step is then ticked, the figures
    show, and the rows hold what was typed (times on the Paris clock, stored in UTC).

    In French the language is picked with the header's selector first; the pages, buttons and
    messages are then French, and so are the amounts (`3,50 €`) and dates (`déc.`)."""
    _setup_flow(browser_page, live_server, texts)


# --- 3: a phone's width --------------------------------------------------------------------------

# The elements sticking out to the right, for the failure message (the deepest ones first).
_OVERFLOWING = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && box.width > 0) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.className && typeof el.className === "string"
           ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      out.push(name + " (right " + Math.round(box.right) + ")");
    }
  }
  return out.slice(-5);
}"""


def _phone_world():
    """A shop set up completely, with the long names real shops have."""
    manager = factories.user("marie-christine.delaunay@tilleuls.fr", password=PASSWORD)
    shop = factories.shop("Ferme des Tilleuls et Jardins de la Vallée", managers=[manager])
    payment = factories.payment_method(
        shop, name="Chèque ou espèces au retrait", fee="0.50", fee_percent="1.5"
    )
    shipping = factories.shipping_method(shop, name="Livraison à domicile le vendredi", fee="3.5")
    customer = factories.customer(
        shop,
        "marie-christine.delaunay-beaumont@example.org",
        first_name="Marie-Christine",
        last_name="Delaunay-Beaumont",
        code="ADH-2024-0042",
    )
    variant = factories.variant(
        shop,
        price="1234.50",
        name="Cagette familiale de 5 kg",
        product_name="Pommes de terre nouvelles de Noirmoutier",
    )
    variant.sku = "PDT-NOIR-5KG-2024"
    variant.save()
    opens = datetime.now(UTC) + timedelta(days=1)
    cycle = factories.order_cycle(
        shop,
        name="Semaine 50 : marché de Noël de la ferme",
        opens_at=opens,
        closes_at=opens + timedelta(days=6),
        variants=[variant],
        fees=[("Emballage consigné", "per_order", "1.20")],
    )
    schedule = factories.schedule(shop, [cycle], name="Toutes les semaines, le vendredi")
    return {
        "shop": shop.pk,
        "payment": payment.pk,
        "shipping": shipping.pk,
        "customer": customer.pk,
        "product": variant.product_id,
        "cycle": cycle.pk,
        "schedule": schedule.pk,
    }


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_page_of_the_setup_scrolls_sideways_on_a_phone(phone_page, live_server, language):
    """At 390×844, every page of the set-up (home, settings, and the lists, add forms and
    edit forms of methods, customers, products, order cycles and schedules, with rows in
    every list) fits the screen's width: nothing scrolls sideways, in English or French."""
    page = phone_page
    ids = in_db(_phone_world)
    shop = ids["shop"]
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/accounts/login/")
    _sign_in(
        page,
        "marie-christine.delaunay@tilleuls.fr",
        button=ENGLISH.sign_in if language == "en" else FRENCH.sign_in,
    )
    playwright_expect()(page.locator("html")).to_have_attribute("lang", language)
    paths = [
        "",
        "settings/",
        "payment-methods/",
        "payment-methods/new/",
        f"payment-methods/{ids['payment']}/",
        "shipping-methods/",
        "shipping-methods/new/",
        f"shipping-methods/{ids['shipping']}/",
        "customers/",
        "customers/new/",
        f"customers/{ids['customer']}/",
        "products/",
        "products/new/",
        f"products/{ids['product']}/",
        "order-cycles/",
        "order-cycles/new/",
        f"order-cycles/{ids['cycle']}/",
        "schedules/",
        "schedules/new/",
        f"schedules/{ids['schedule']}/",
    ]
    too_wide = {}
    for path in paths:
        page.goto(f"{live_server.url}/manage/{shop}/{path}")
        if path == "order-cycles/new/":
            # The picker's search results too (long product labels).
            page.locator("#variant-picker input[type=search]").press_sequentially("pommes")
            playwright_expect()(page.locator("#variant-results-list li")).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            too_wide[path or "home"] = (width, page.evaluate(_OVERFLOWING, PHONE_WIDTH))
    assert not too_wide, f"pages wider than {PHONE_WIDTH}px: {too_wide}"


# --- 4: bad input in each form -------------------------------------------------------------------


def test_bad_input_in_each_form_is_shown_next_to_its_field_and_writes_nothing(
    browser_page, live_server
):
    """In each set-up form, what a service refuses shows in the error block of the field (or
    the variant's row) it is about, beside that field, and nothing is written: an unknown time
    zone in the settings, a negative fee for a payment method, a blank name for a shipping
    method, an invalid email for a customer, a negative price for a product, a close before
    the opening for an order cycle, and a blank name for a schedule."""
    page = browser_page
    expect = playwright_expect()

    def world():
        manager = factories.user("paul@tilleuls.fr", password=PASSWORD)
        return factories.shop("Ferme des Tilleuls", managers=[manager]).pk

    shop = in_db(world)
    base = f"{live_server.url}/manage/{shop}"
    page.goto(f"{live_server.url}/accounts/login/")
    _sign_in(page, "paul@tilleuls.fr")

    def counts():
        return {
            "payment": PaymentMethod.objects.count(),
            "shipping": ShippingMethod.objects.count(),
            "customer": Customer.objects.count(),
            "variant": Variant.objects.count(),
            "cycle": OrderCycle.objects.count(),
            "schedule": Schedule.objects.count(),
            "timezone": Enterprise.objects.get(pk=shop).timezone,
        }

    before = in_db(counts)

    def refused(button: str, error_id: str, message: str, *, beside: str) -> None:
        """Press `button`; the page comes back with `message` in the block `error_id`,
        inside the same container (`beside`) as the field it is about."""
        _submit(page, button)
        block = page.locator(f"#{error_id}")
        expect(block).to_be_visible()
        assert message in text_of(block)
        expect(page.locator(beside).locator(f"#{error_id}")).to_have_count(1)
        assert in_db(counts) == before

    page.goto(f"{base}/settings/")
    page.fill("#id_timezone", "Mars/Olympus")
    refused(
        "Save settings",
        "id_timezone_error",
        "is not a known time zone",
        beside=".field:has(#id_timezone)",
    )
    expect(page.locator("#id_timezone")).to_have_value("Mars/Olympus")

    page.goto(f"{base}/payment-methods/new/")
    page.fill("#id_name", "Cheque")
    page.fill("#id_fee", "-1")
    refused(
        "Add the payment method", "id_fee_error", "must be 0 or more", beside=".field:has(#id_fee)"
    )

    page.goto(f"{base}/shipping-methods/new/")
    page.fill("#id_name", "   ")
    page.fill("#id_fee", "2")
    refused(
        "Add the shipping method", "id_name_error", "can't be blank", beside=".field:has(#id_name)"
    )

    page.goto(f"{base}/customers/new/")
    page.fill("#id_email", "ann.martin-at-example.org")
    refused(
        "Add the customer",
        "id_email_error",
        "is not a valid email address",
        beside=".field:has(#id_email)",
    )

    page.goto(f"{base}/products/new/")
    page.fill("#id_name", "Carrots")
    page.fill("#id_variants-0-name", "1 kg bag")
    page.fill("#id_variants-0-price", "-1")
    refused(
        "Save the product",
        "id_variants-0_error",
        "price must be 0 or more",
        beside="fieldset.variant:has(#id_variants-0-price)",
    )

    opens, _closes = _cycle_times()
    page.goto(f"{base}/order-cycles/new/")
    page.fill("#id_name", "Week 1")
    page.fill("#id_opens_at", opens.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_closes_at", (opens - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    refused(
        "Create the order cycle",
        "id_closes_at_error",
        "Closes at must be after opens at",
        beside=".field:has(#id_closes_at)",
    )

    page.goto(f"{base}/schedules/new/")
    page.fill("#id_name", "")
    refused(
        "Create the schedule", "id_name_error", "Name is required", beside=".field:has(#id_name)"
    )
