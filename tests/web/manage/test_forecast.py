"""The forecast of an order cycle: what subscriptions will ask for against stock, as a page
with a bar chart and a table, and as a CSV file."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cadence.subscriptions.forecast import cycle_forecast
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from tests.support import factories

pytestmark = pytest.mark.django_db


def _page(shop, cycle) -> str:
    return f"/manage/{shop.pk}/order-cycles/{cycle.pk}/forecast/"


def _csv(shop, cycle) -> str:
    return f"/manage/{shop.pk}/order-cycles/{cycle.pk}/forecast.csv"


def _upcoming(shop, variants, **fields):
    return factories.order_cycle(
        shop, opens_at=timezone.now() + timedelta(days=2), variants=variants, **fields
    )


def _ask(shop, cycle, variant, quantity, *, state=ProxyOrderState.PENDING, **fields):
    """A subscription asking `quantity` of `variant`, with its proxy order in `cycle`."""
    sub = factories.subscription(shop, factories.customer(shop), **fields)
    SubscriptionLineItem.objects.create(subscription=sub, variant=variant, quantity=quantity)
    ProxyOrder.objects.create(
        subscription=sub,
        order_cycle=cycle,
        state=state,
        canceled_at=timezone.now() if state == ProxyOrderState.CANCELED else None,
    )
    return sub


def _many(shop, cycle, variants, count):
    """`count` subscriptions each asking 1 of every variant, written in bulk."""
    customer = factories.customer(shop)
    schedule = factories.schedule(shop, [cycle])
    payment, shipping = factories.payment_method(shop), factories.shipping_method(shop)
    begins = timezone.now() - timedelta(days=30)
    subs = Subscription.objects.bulk_create(
        [
            Subscription(
                shop=shop,
                customer=customer,
                schedule=schedule,
                payment_method=payment,
                shipping_method=shipping,
                bill_address=factories.address(),
                ship_address=factories.address(),
                begins_at=begins,
            )
            for _ in range(count)
        ]
    )
    SubscriptionLineItem.objects.bulk_create(
        [
            SubscriptionLineItem(subscription=sub, variant=variant, quantity=1)
            for sub in subs
            for variant in variants
        ]
    )
    ProxyOrder.objects.bulk_create(
        [ProxyOrder(subscription=sub, order_cycle=cycle) for sub in subs]
    )


@pytest.fixture
def eggs_and_milk(shop):
    """A producer's eggs (5 in stock) and the shop's milk (on demand), in an upcoming cycle."""
    farm = factories.producer("Ferme des Monts", supplies=[shop])
    eggs = factories.variant(farm, on_hand=5, product_name="Eggs", name="Box of 6")
    milk = factories.variant(shop, on_demand=True, product_name="Milk", name="1 l")
    eggs.sku, eggs.unit, milk.unit = "EGG-6", "", ""
    eggs.save()
    milk.save()
    cycle = _upcoming(shop, [eggs, milk], name="Week 50")
    return cycle, eggs, milk


def test_the_forecast_shows_the_shortfall_of_what_subscriptions_ask(
    manager_client, shop, eggs_and_milk
):
    """Active subscriptions ask 4 + 3 eggs against 5 in stock: short by 2. A paused, an ended,
    a canceled one and a skipped delivery are not counted."""
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 4)
    _ask(shop, cycle, eggs, 3)
    _ask(shop, cycle, milk, 2)
    _ask(shop, cycle, eggs, 10, paused_at=timezone.now() - timedelta(days=1))
    _ask(shop, cycle, eggs, 10, ends_at=timezone.now() + timedelta(days=1))  # before it closes
    _ask(shop, cycle, eggs, 10, canceled_at=timezone.now() - timedelta(days=1))
    _ask(shop, cycle, eggs, 10, state=ProxyOrderState.CANCELED)  # delivery skipped

    response = manager_client.get(_page(shop, cycle))

    assert response.status_code == 200
    text = response.text
    assert "Forecast: Week 50" in text
    rows = re.findall(r'<tr data-short="(true|false)"', text)
    assert rows == ["true", "false"]  # the farm's eggs, then the shop's milk
    short_row = text[text.index('<tr data-short="true"') :]
    short_row = short_row[: short_row.index("</tr>")]
    assert "Ferme des Monts" in short_row and "Eggs" in short_row and "EGG-6" in short_row
    assert 'data-label="Asked">7<' in short_row
    assert 'data-label="Stock">5<' in short_row
    assert '<strong class="shortfall">2</strong>' in short_row
    assert 'id="short-count">1<' in text and 'id="units-missing">2<' in text
    assert "on demand" in text  # the milk's stock


def test_the_chart_has_a_bar_per_product_with_the_shortfall_marked(
    manager_client, shop, eggs_and_milk
):
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 7)
    _ask(shop, cycle, milk, 2)

    text = manager_client.get(_page(shop, cycle)).text

    svg = text[text.index("<svg") : text.index("</svg>")]
    assert svg.count('class="bar asked"') == 2
    assert svg.count('class="bar stock"') == 1  # milk is on demand: no stock bar
    assert svg.count('class="bar shortfall"') == 1
    assert svg.count('class="band short"') == 1
    # Eggs: 7 asked is the top of the scale, 5 in stock, the 2 missing drawn after them.
    assert 'class="bar asked" x="0" y="36" width="100.00%"' in svg
    assert 'class="bar shortfall" x="71.43%" y="36" width="28.57%"' in svg
    assert "asked 7 · stock 5 · short 2" in svg
    assert "style=" not in text  # the Content-Security-Policy forbids inline styles


def test_only_short_products_when_asked(manager_client, shop, eggs_and_milk):
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 7)

    text = manager_client.get(_page(shop, cycle), {"show": "short"}).text

    assert re.findall(r'<tr data-short="(true|false)"', text) == ["true"]
    assert "Short (1)" in text and "All products (2)" in text and "Asked for (1)" in text


def test_the_csv_lists_every_product_with_comma_in_english(manager_client, shop, eggs_and_milk):
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 7)
    _ask(shop, cycle, milk, 2)

    response = manager_client.get(_csv(shop, cycle))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="forecast-week-50.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Producer", "Product", "Variant", "SKU", "Asked", "Stock", "Shortfall"],
        ["Ferme des Monts", "Eggs", "Box of 6", "EGG-6", "7", "5", "2"],
        ["Ferme du Val", "Milk", "1 l", "", "2", "on demand", "0"],
    ]


def test_the_csv_is_semicolon_separated_in_french(manager_client, shop, eggs_and_milk):
    """French spreadsheets take a comma as the decimal mark, so columns are split by `;`."""
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 7)
    farm = eggs.product.supplier
    farm.name = "Ferme des Âges; bio"
    farm.save()

    response = manager_client.get(_csv(shop, cycle), HTTP_ACCEPT_LANGUAGE="fr")

    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 3 and all(len(row) == 7 for row in rows)
    assert rows[1][:2] == ["Ferme des Âges; bio", "Eggs"]
    assert rows[1][4:] == ["7", "5", "2"]
    assert '"Ferme des Âges; bio";Eggs;Box of 6;EGG-6;7;5;2' in text


def test_a_name_like_a_formula_is_written_as_text(manager_client, shop):
    variant = factories.variant(shop, product_name="=HYPERLINK(1)")
    cycle = _upcoming(shop, [variant])

    text = manager_client.get(_csv(shop, cycle)).content.decode("utf-8-sig")

    assert "'=HYPERLINK(1)" in text


def test_a_closed_cycle_leads_to_its_results(manager_client, shop, eggs_and_milk):
    cycle, eggs, milk = eggs_and_milk
    past = timezone.now() - timedelta(days=10)
    cycle.opens_at, cycle.closes_at = past, past + timedelta(days=3)
    cycle.save()

    response = manager_client.get(_page(shop, cycle))

    assert response.status_code == 200
    assert "The forecast is for open and upcoming cycles" in response.text
    assert f'href="/manage/{shop.pk}/order-cycles/{cycle.pk}/results/"' in response.text
    assert "<svg" not in response.text
    csv_response = manager_client.get(_csv(shop, cycle))
    assert csv_response.status_code == 302
    assert csv_response["Location"] == _page(shop, cycle)


def test_an_open_cycle_counts_only_what_is_still_to_be_placed(manager_client, shop):
    variant = factories.variant(shop, on_hand=3, product_name="Honey")
    cycle = factories.order_cycle(shop, variants=[variant])  # opened yesterday
    _ask(shop, cycle, variant, 2)
    _ask(shop, cycle, variant, 9, state=ProxyOrderState.PLACED)

    text = manager_client.get(_page(shop, cycle)).text

    assert "This cycle is open until" in text
    assert 'id="units-missing">0<' in text
    assert "asked 2 · stock 3" in text


def test_an_open_cycle_with_everything_placed_leads_to_its_orders(manager_client, shop):
    variant = factories.variant(shop, on_hand=3, product_name="Honey")
    cycle = factories.order_cycle(shop, variants=[variant])
    _ask(shop, cycle, variant, 2, state=ProxyOrderState.PLACED)

    text = manager_client.get(_page(shop, cycle)).text

    assert "Nothing is left to place in this cycle" in text
    assert f'href="/manage/{shop.pk}/order-cycles/{cycle.pk}/orders/"' in text


def test_a_cycle_without_products_says_what_to_do(manager_client, shop):
    cycle = _upcoming(shop, [])

    text = manager_client.get(_page(shop, cycle)).text

    assert "This order cycle sells no product yet" in text
    assert "<svg" not in text


def test_the_order_cycle_page_links_to_its_forecast(manager_client, shop):
    cycle = _upcoming(shop, [])

    text = manager_client.get(f"/manage/{shop.pk}/order-cycles/{cycle.pk}/").text

    assert f'href="{_page(shop, cycle)}"' in text


def test_the_cycles_pages_lead_to_one_another(manager_client, shop):
    """The forecast, the orders and the results of a cycle share one row of tabs, the current
    one marked."""
    cycle = _upcoming(shop, [])
    base = f"/manage/{shop.pk}/order-cycles/{cycle.pk}/"
    pages = {
        "forecast": _page(shop, cycle),
        "orders": base + "orders/",
        "results": base + "results/",
    }

    for current, url in pages.items():
        text = manager_client.get(url).text
        for other in pages.values():
            marked = ' aria-current="page"' if other == url else ""
            assert f'href="{other}"{marked}>' in text, (current, other)


def test_outsiders_see_no_forecast(shop, eggs_and_milk, assert_hidden):
    cycle, eggs, milk = eggs_and_milk
    assert_hidden(_page(shop, cycle))
    assert_hidden(_csv(shop, cycle))


def test_another_shops_cycle_is_not_found(manager_client, shop):
    other = factories.shop("Other shop")
    cycle = _upcoming(other, [factories.variant(other)])
    assert manager_client.get(_page(shop, cycle)).status_code == 404
    assert manager_client.get(_csv(shop, cycle)).status_code == 404
    # Nor through the other shop's address, which this manager does not manage.
    assert manager_client.get(_page(other, cycle)).status_code == 404


def test_the_forecast_runs_as_many_queries_for_500_subscriptions_as_for_10(
    manager_client, shop, count_queries
):
    variants = [factories.variant(shop, on_hand=20) for _ in range(3)]
    cycle = _upcoming(shop, variants)
    _many(shop, cycle, variants, 10)
    page, csv_url = _page(shop, cycle), _csv(shop, cycle)
    page_at_10, csv_at_10 = (
        count_queries(manager_client, page),
        count_queries(manager_client, csv_url),
    )

    _many(shop, cycle, variants, 490)
    for _ in range(40):
        factories.variant(shop)  # products not in the cycle do not count

    assert count_queries(manager_client, page) == page_at_10
    assert count_queries(manager_client, csv_url) == csv_at_10
    assert "asked 500 · stock 20 · short 480" in manager_client.get(page).text


def test_the_forecast_counts_what_placement_would_place(shop, eggs_and_milk):
    """The selector the page and the API share follows placement's rule: a subscription that
    begins after the cycle closes asks nothing in it, nor does any in a shop with subscriptions
    turned off."""
    cycle, eggs, milk = eggs_and_milk
    _ask(shop, cycle, eggs, 4)
    _ask(shop, cycle, eggs, 10, begins_at=cycle.closes_at + timedelta(days=1))

    rows = {row.variant_id: row for row in cycle_forecast(order_cycle=cycle)}
    assert (rows[eggs.pk].requested, rows[eggs.pk].shortfall) == (4, 0)
    assert (rows[milk.pk].requested, rows[milk.pk].on_hand) == (0, None)

    shop.enable_subscriptions = False
    shop.save()
    cycle.refresh_from_db()
    assert all(row.requested == 0 for row in cycle_forecast(order_cycle=cycle))
