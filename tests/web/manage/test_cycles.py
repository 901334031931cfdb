"""The order cycles pages: the list by state, create and edit (shop's clock, product picker,
fees), the picker's search, duplicate a week later, delete with its guard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cadence.cycles.models import OrderCycle, Schedule
from tests.support import factories

pytestmark = pytest.mark.django_db

# 2 Dec 2030 18:00 in Paris (winter, UTC+1) is 17:00 UTC.
OPENS = datetime(2030, 12, 2, 17, 0, tzinfo=UTC)
CLOSES = datetime(2030, 12, 5, 19, 30, tzinfo=UTC)


def _url(shop, tail: str = "") -> str:
    return f"/manage/{shop.pk}/order-cycles/{tail}"


def _form(**overrides) -> dict:
    """A valid create form: dates as a `datetime-local` input sends them, on the shop's clock."""
    data = {
        "name": "Week 49",
        "opens_at": "2030-12-02T18:00",
        "closes_at": "2030-12-05T20:30",
        "variant_ids": [],
        "q": "",
        "fees-TOTAL_FORMS": "0",
        "fees-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def _fees(*rows) -> dict:
    data = {"fees-TOTAL_FORMS": str(len(rows)), "fees-INITIAL_FORMS": "0"}
    for index, (name, kind, amount) in enumerate(rows):
        data.update(
            {
                f"fees-{index}-name": name,
                f"fees-{index}-kind": kind,
                f"fees-{index}-amount": amount,
            }
        )
    return data


def _error_block(html: str, field: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error block for {field}"
    return match.group(1)


def _cycle(shop, name, *, opens_in_days: float, days: float = 3, **kwargs):
    opens = timezone.now() + timedelta(days=opens_in_days)
    return factories.order_cycle(
        shop, name=name, opens_at=opens, closes_at=opens + timedelta(days=days), **kwargs
    )


# --- The list ----------------------------------------------------------------------------------


def test_a_shop_without_cycles_is_told_what_a_cycle_is(manager_client, shop):
    """The empty list explains what an order cycle is and offers to create one."""
    response = manager_client.get(_url(shop))

    assert response.status_code == 200
    assert "No order cycle yet. Create one: it is the window in which buyers" in response.text
    assert f'href="{_url(shop, "new/")}"' in response.text


def test_the_list_opens_on_open_and_upcoming_cycles_and_has_a_tab_per_state(manager_client, shop):
    """By default the list shows what the manager works on (open and upcoming); each tab
    narrows it, and the closed tab shows the newest first."""
    _cycle(shop, "Open now", opens_in_days=-1)
    _cycle(shop, "Next week", opens_in_days=6)
    _cycle(shop, "Closed long ago", opens_in_days=-60)
    _cycle(shop, "Closed lately", opens_in_days=-20)

    default = manager_client.get(_url(shop)).text
    open_ = manager_client.get(_url(shop, "?status=open")).text
    upcoming = manager_client.get(_url(shop, "?status=upcoming")).text
    closed = manager_client.get(_url(shop, "?status=closed")).text

    assert "Open now" in default and "Next week" in default
    assert "Closed lately" not in default and "Closed long ago" not in default
    assert "Open now" in open_ and "Next week" not in open_
    assert "Next week" in upcoming and "Open now" not in upcoming
    assert "Open now" not in closed
    assert closed.index("Closed lately") < closed.index("Closed long ago")
    assert 'aria-current="page">Closed (2)' in closed


def test_the_list_shows_times_on_the_shops_clock_and_the_schedules_of_each_cycle(
    manager_client, shop
):
    """Dates read in the shop's time zone (said once on the page); each cycle links to the
    schedules it is in."""
    carrots = factories.variant(shop, product_name="Carrots")
    cycle = factories.order_cycle(
        shop, name="Week 49", opens_at=OPENS, closes_at=CLOSES, variants=[carrots]
    )
    weekly = factories.schedule(shop, [cycle], name="Weekly")

    response = manager_client.get(_url(shop))

    assert "Times are in Europe/Paris." in response.text
    assert "2 Dec 2030, 18:00" in response.text and "5 Dec 2030, 20:30" in response.text
    assert f'href="/manage/{shop.pk}/schedules/{weekly.pk}/">Weekly</a>' in response.text
    assert '<td data-label="Products">1</td>' in response.text


def _week_49_with_carrots_and_packing(shop):
    """A cycle "Week 49" (OPENS to CLOSES) selling carrots, with a 2.50 packing fee."""
    carrots = factories.variant(shop, product_name="Carrots")
    cycle = factories.order_cycle(
        shop,
        name="Week 49",
        opens_at=OPENS,
        closes_at=CLOSES,
        variants=[carrots],
        fees=[("Packing", "per_order", "2.50")],
    )
    return carrots, cycle


def _bulk_cycles(shop, count: int, schedule, variant) -> None:
    start = timezone.now() + timedelta(days=1)
    cycles = OrderCycle.objects.bulk_create(
        OrderCycle(
            shop=shop,
            name=f"Bulk {n}",
            opens_at=start + timedelta(hours=n),
            closes_at=start + timedelta(days=3, hours=n),
        )
        for n in range(count)
    )
    Schedule.order_cycles.through.objects.bulk_create(
        Schedule.order_cycles.through(schedule=schedule, ordercycle=c) for c in cycles
    )
    OrderCycle.variants.through.objects.bulk_create(
        OrderCycle.variants.through(ordercycle=c, variant=variant) for c in cycles
    )


def test_the_list_runs_as_many_queries_for_500_cycles_as_for_10(
    manager_client, shop, count_queries
):
    """Variant counts and schedules are fetched per page, not per row."""
    schedule = factories.schedule(shop, name="Weekly")
    variant = factories.variant(shop)
    _bulk_cycles(shop, 10, schedule, variant)
    few = count_queries(manager_client, _url(shop))

    _bulk_cycles(shop, 490, schedule, variant)
    many = count_queries(manager_client, _url(shop))

    assert many == few


# --- Create and edit ---------------------------------------------------------------------------


def test_creating_a_cycle_stores_its_dates_in_utc_with_its_products_and_fees(manager_client, shop):
    """Dates typed on the shop's clock are stored in UTC; amounts are read with a comma or a
    point."""
    carrots = factories.variant(shop, product_name="Carrots")
    leeks = factories.variant(shop, product_name="Leeks")
    data = _form(
        variant_ids=[carrots.pk, leeks.pk],
        **_fees(("Packing", "per_order", "2,50"), ("Crates", "per_item", "0.30")),
    )

    response = manager_client.post(_url(shop, "new/"), data)

    assert response.status_code == 302
    assert response["Location"] == _url(shop)
    cycle = OrderCycle.objects.get(shop=shop)
    assert cycle.name == "Week 49"
    assert cycle.opens_at == OPENS and cycle.closes_at == CLOSES
    assert set(cycle.variants.all()) == {carrots, leeks}
    assert [(f.name, f.kind, f.amount) for f in cycle.fees.all()] == [
        ("Packing", "per_order", Decimal("2.50")),
        ("Crates", "per_item", Decimal("0.30")),
    ]
    assert "The order cycle “Week 49” is created." in manager_client.get(_url(shop)).text


def test_the_edit_form_shows_the_shops_clock_and_saves_new_dates(manager_client, shop):
    """The form shows the stored dates on the shop's clock; new ones are stored in UTC, and
    the products and fees stay as they were when untouched."""
    carrots, cycle = _week_49_with_carrots_and_packing(shop)
    page = manager_client.get(_url(shop, f"{cycle.pk}/")).text
    assert 'value="2030-12-02T18:00"' in page and 'value="2030-12-05T20:30"' in page
    assert f'value="{carrots.pk}" id="variant-{carrots.pk}" checked' in page
    assert 'value="Packing"' in page and 'value="2.50"' in page

    data = _form(
        opens_at="2030-12-09T18:00",
        closes_at="2030-12-12T20:30",
        variant_ids=[carrots.pk],
        **_fees(("Packing", "per_order", "2.50")),
    )
    data["fees-INITIAL_FORMS"] = "1"
    response = manager_client.post(_url(shop, f"{cycle.pk}/"), data)

    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.opens_at == OPENS + timedelta(days=7)
    assert cycle.closes_at == CLOSES + timedelta(days=7)
    assert list(cycle.variants.all()) == [carrots]
    assert [(f.name, f.amount) for f in cycle.fees.all()] == [("Packing", Decimal("2.50"))]


def test_removing_a_fee_and_a_product_takes_them_out(manager_client, shop):
    """An unticked product and a fee marked "Remove" are no longer in the cycle."""
    carrots = factories.variant(shop, product_name="Carrots")
    cycle = factories.order_cycle(shop, variants=[carrots], fees=[("Packing", "per_order", "2.50")])
    data = _form(**_fees(("Packing", "per_order", "2.50")))
    data["fees-INITIAL_FORMS"] = "1"
    data["fees-0-DELETE"] = "on"

    manager_client.post(_url(shop, f"{cycle.pk}/"), data)

    assert not cycle.variants.exists() and not cycle.fees.exists()


def test_a_close_before_the_opening_is_refused_next_to_its_field(manager_client, shop):
    """The service's message shows under "Closes at" and nothing is created."""
    response = manager_client.post(
        _url(shop, "new/"), _form(opens_at="2030-12-05T18:00", closes_at="2030-12-02T18:00")
    )

    assert response.status_code == 200
    assert "Closes at must be after opens at" in _error_block(response.text, "closes_at")
    assert 'value="2030-12-05T18:00"' in response.text  # what was typed stays
    assert not OrderCycle.objects.exists()


def test_missing_name_and_dates_are_the_services_messages(manager_client, shop):
    """A blank name and blank dates get the service's messages, each under its field."""
    response = manager_client.post(_url(shop, "new/"), _form(name="", opens_at="", closes_at=""))

    assert "Name is required" in _error_block(response.text, "name")
    assert "Opens at is required" in _error_block(response.text, "opens_at")
    assert "Closes at is required" in _error_block(response.text, "closes_at")
    assert not OrderCycle.objects.exists()


def test_another_shops_product_is_refused_under_the_products(manager_client, shop):
    """A variant id the shop may not sell (posted by hand) gets the service's message under
    the products, names nothing of the other shop, and nothing is written."""
    mine = factories.variant(shop, product_name="Carrots")
    theirs = factories.variant(factories.shop("Other"), product_name="Secret truffles")

    response = manager_client.post(_url(shop, "new/"), _form(variant_ids=[mine.pk, theirs.pk]))

    assert response.status_code == 200
    errors = _error_block(response.text, "variant_ids")
    assert f"Variant {theirs.pk} is not available to Ferme du Val" in errors
    assert "Secret truffles" not in response.text
    assert f'value="{mine.pk}" id="variant-{mine.pk}" checked' in response.text
    assert not OrderCycle.objects.exists()


def test_fee_mistakes_are_shown_with_the_fees(manager_client, shop):
    """An amount that is not a number shows next to it; a negative one gets the service's
    message over the fees. Nothing is written."""
    response = manager_client.post(
        _url(shop, "new/"), _form(**_fees(("Packing", "per_order", "two euros")))
    )
    assert "Enter a number for “Amount”" in _error_block(response.text, "fees-0-amount")

    response = manager_client.post(
        _url(shop, "new/"), _form(**_fees(("Packing", "per_order", "-1")))
    )
    assert "Fee 1: amount must be zero or more" in _error_block(response.text, "fees")
    assert not OrderCycle.objects.exists()


def test_add_a_fee_shows_one_more_row_and_saves_nothing(manager_client, shop):
    """ "Add a fee" shows the form again with what was typed and one more fee row."""
    data = _form(**_fees(("Packing", "per_order", "2,50")), add_fee="1")

    response = manager_client.post(_url(shop, "new/"), data)

    assert response.status_code == 200
    assert 'name="fees-1-name"' in response.text and 'value="Packing"' in response.text
    assert 'name="fees-TOTAL_FORMS" value="2"' in response.text
    assert not OrderCycle.objects.exists()


def test_the_search_button_without_javascript_keeps_what_was_typed(manager_client, shop):
    """The picker's Search button (a POST, so the CSRF token stays out of the address) shows
    the form again as typed: the ticked products stay ticked and the matches come unticked
    below; nothing is saved."""
    leeks = factories.variant(shop, product_name="Leeks")
    carrots = factories.variant(shop, product_name="Carrots")
    query = _form(name="Week 50", variant_ids=[leeks.pk], q="carr", search="1")

    response = manager_client.post(_url(shop, "new/"), query)

    assert response.status_code == 200
    assert 'value="Week 50"' in response.text
    assert f'value="{leeks.pk}" id="variant-{leeks.pk}" checked' in response.text
    assert f'value="{carrots.pk}" id="variant-{carrots.pk}">' in response.text
    assert 'id="id_name_error"' not in response.text
    assert not OrderCycle.objects.exists()


# --- The picker's search -----------------------------------------------------------------------


def test_the_variant_search_finds_sellable_variants_by_name_or_sku(manager_client, shop):
    """Matches by product name or SKU among what the shop may sell (its own and a permitted
    producer's); never another shop's, a deleted one, or one already ticked."""
    carrots = factories.variant(shop, product_name="Carrots")
    farm = factories.producer("Green farm", supplies=[shop])
    farm_carrots = factories.variant(farm, product_name="Purple carrots")
    beets = factories.variant(shop, product_name="Beetroot")
    beets.sku = "CAR-77"
    beets.save()
    ticked = factories.variant(shop, product_name="Carrot tops")
    gone = factories.variant(shop, product_name="Old carrots")
    gone.deleted_at = timezone.now()
    gone.save()
    other = factories.variant(factories.shop("Other"), product_name="Carrots of another shop")

    response = manager_client.get(
        _url(shop, "variants/"), {"q": "car", "variant_ids": [ticked.pk]}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    found = set(map(int, re.findall(r'name="variant_ids" value="(\d+)"', response.text)))
    assert found == {carrots.pk, farm_carrots.pk, beets.pk}
    assert gone.pk not in found and other.pk not in found and ticked.pk not in found
    assert "CAR-77" in response.text


def test_the_variant_search_shows_at_most_30_and_says_so(manager_client, shop):
    """A broad search lists 30 variants, not the whole catalogue, and asks for more letters."""
    for n in range(35):
        factories.variant(shop, product_name=f"Apple {n:02}")

    response = manager_client.get(_url(shop, "variants/"), {"q": "apple"}, HTTP_HX_REQUEST="true")

    assert len(re.findall(r'name="variant_ids"', response.text)) == 30
    assert "Only the first 30 matches are shown" in response.text


def test_a_blank_search_lists_nothing(manager_client, shop):
    """An empty search box lists no variant."""
    factories.variant(shop, product_name="Carrots")
    response = manager_client.get(_url(shop, "variants/"), {"q": " "}, HTTP_HX_REQUEST="true")
    assert 'name="variant_ids"' not in response.text


def test_the_form_never_lists_the_whole_catalogue(manager_client, shop):
    """A new cycle's form shows no variant until the manager searches."""
    for n in range(5):
        factories.variant(shop, product_name=f"Apple {n}")
    response = manager_client.get(_url(shop, "new/"))
    assert 'name="variant_ids"' not in response.text


# --- Duplicate ---------------------------------------------------------------------------------


def test_duplicate_offers_the_next_week_on_the_shops_clock(manager_client, shop):
    """The form is filled with the name "… (copy)" and the dates a week later, at the same
    time of day on the shop's clock even across a change to summer time."""
    # 25 Mar 2030 18:00 Paris (UTC+1) → 1 Apr 2030 18:00 Paris (UTC+2).
    cycle = factories.order_cycle(
        shop,
        name="Week 13",
        opens_at=datetime(2030, 3, 25, 17, 0, tzinfo=UTC),
        closes_at=datetime(2030, 3, 28, 17, 0, tzinfo=UTC),
    )

    response = manager_client.get(_url(shop, f"{cycle.pk}/clone/"))

    assert response.status_code == 200
    assert 'value="Week 13 (copy)"' in response.text
    assert 'value="2030-04-01T18:00"' in response.text
    assert 'value="2030-04-04T18:00"' in response.text


def test_duplicate_creates_the_copy_with_the_products_fees_and_schedules(manager_client, shop):
    """Posting the duplicate form creates a cycle at the dates given, with the original's
    products, fees and schedules."""
    carrots, cycle = _week_49_with_carrots_and_packing(shop)
    weekly = factories.schedule(shop, [cycle], name="Weekly")

    response = manager_client.post(
        _url(shop, f"{cycle.pk}/clone/"),
        {"name": "Week 50", "opens_at": "2030-12-09T18:00", "closes_at": "2030-12-12T20:30"},
    )

    assert response.status_code == 302
    clone = OrderCycle.objects.get(name="Week 50")
    assert clone.opens_at == OPENS + timedelta(days=7)
    assert list(clone.variants.all()) == [carrots]
    assert [f.name for f in clone.fees.all()] == ["Packing"]
    assert list(clone.schedules.all()) == [weekly]
    assert "with the products, fees and schedules of “Week 49”" in (
        manager_client.get(response["Location"]).text
    )


def test_duplicate_with_dates_the_wrong_way_round_writes_nothing(manager_client, shop):
    """The service's date rule applies to a copy too, shown under its field."""
    cycle = factories.order_cycle(shop, name="Week 49", opens_at=OPENS, closes_at=CLOSES)

    response = manager_client.post(
        _url(shop, f"{cycle.pk}/clone/"),
        {"name": "Week 50", "opens_at": "2030-12-12T18:00", "closes_at": "2030-12-09T18:00"},
    )

    assert "Closes at must be after opens at" in _error_block(response.text, "closes_at")
    assert OrderCycle.objects.count() == 1


# --- Delete ------------------------------------------------------------------------------------


def test_a_cycle_in_no_schedule_is_deleted_after_confirmation(manager_client, shop):
    """GET asks to confirm and deletes nothing; POST deletes and says so."""
    cycle = factories.order_cycle(shop, name="Week 49")

    confirm = manager_client.get(_url(shop, f"{cycle.pk}/delete/"))
    assert confirm.status_code == 200 and "Delete the order cycle" in confirm.text
    assert OrderCycle.objects.filter(pk=cycle.pk).exists()

    response = manager_client.post(_url(shop, f"{cycle.pk}/delete/"))

    assert response.status_code == 302
    assert not OrderCycle.objects.filter(pk=cycle.pk).exists()
    assert "The order cycle “Week 49” is deleted." in manager_client.get(_url(shop)).text


def test_a_cycle_in_a_schedule_is_kept_with_the_reason_and_links_to_its_schedules(
    manager_client, shop
):
    """The delete guard's message shows on the page, with a link to each schedule to edit."""
    cycle = factories.order_cycle(shop, name="Week 49")
    weekly = factories.schedule(shop, [cycle], name="Weekly")

    response = manager_client.post(_url(shop, f"{cycle.pk}/delete/"))

    assert response.status_code == 200
    assert "This order cycle is in a schedule; remove it from the schedule first." in (
        response.text
    )
    assert f'href="/manage/{shop.pk}/schedules/{weekly.pk}/">Weekly</a>' in response.text
    assert OrderCycle.objects.filter(pk=cycle.pk).exists()


# --- Language and access -----------------------------------------------------------------------


def test_the_pages_are_in_french_with_french_dates_and_amounts(manager_client, shop):
    """A French manager reads French words, French dates, amounts with a comma and the service's
    French messages."""
    cycle = factories.order_cycle(
        shop,
        name="Semaine 49",
        opens_at=OPENS,
        closes_at=CLOSES,
        fees=[("Emballage", "per_order", "2.50")],
    )
    fr = {"HTTP_ACCEPT_LANGUAGE": "fr"}

    listing = manager_client.get(_url(shop), **fr).text
    form = manager_client.get(_url(shop, f"{cycle.pk}/"), **fr).text
    refused = manager_client.post(
        _url(shop, "new/"), _form(opens_at="2030-12-05T18:00", closes_at="2030-12-02T18:00"), **fr
    ).text

    assert "Cycles de vente" in listing and "Heures dans le fuseau Europe/Paris." in listing
    assert "2 déc. 2030 18:00" in listing
    assert "Ouverts et à venir" in listing
    assert 'value="2,50"' in form and "Ajouter des frais" in form
    assert "Produits vendus dans ce cycle" in form
    assert "La date de clôture doit être postérieure à la date d&#x27;ouverture" in refused


def test_outsiders_see_none_of_the_order_cycle_pages(shop, assert_hidden):
    """Every URL, GET and POST: sign-in page for anonymous visitors, 404 for a buyer or another
    shop's manager; nothing is written."""
    cycle = factories.order_cycle(shop, name="Week 49")
    for tail in ("", "new/", "variants/?q=a", f"{cycle.pk}/", f"{cycle.pk}/clone/"):
        assert_hidden(_url(shop, tail))
    assert_hidden(_url(shop, f"{cycle.pk}/delete/"))
    for tail in ("new/", f"{cycle.pk}/", f"{cycle.pk}/clone/", f"{cycle.pk}/delete/"):
        assert_hidden(_url(shop, tail), method="post", data=_form())
    assert OrderCycle.objects.filter(pk=cycle.pk, name="Week 49").exists()
    assert OrderCycle.objects.count() == 1


def test_another_shops_cycle_is_not_found_from_this_shop(manager_client, shop):
    """Another shop's cycle id under this shop's URL answers 404 and is left alone."""
    theirs = factories.order_cycle(factories.shop("Other"), name="Theirs")
    for tail in (f"{theirs.pk}/", f"{theirs.pk}/clone/", f"{theirs.pk}/delete/"):
        assert manager_client.get(_url(shop, tail)).status_code == 404
        assert manager_client.post(_url(shop, tail), _form()).status_code == 404
    assert OrderCycle.objects.filter(pk=theirs.pk, name="Theirs").exists()


def test_the_variant_search_opened_without_htmx_leads_to_the_form(manager_client, shop):
    """The search answers htmx with a fragment; a plain visit of its address (no
    JavaScript, a bookmark) goes to the new cycle's form with the same search."""
    factories.variant(shop, product_name="Carrots")

    response = manager_client.get(_url(shop, "variants/"), {"q": "carrot"})

    assert response.status_code == 302
    assert response["Location"] == f"/manage/{shop.pk}/order-cycles/new/?q=carrot"
    form = manager_client.get(response["Location"])
    assert "Carrots" in form.text
    assert "is required" not in form.text  # a search is not a submission
