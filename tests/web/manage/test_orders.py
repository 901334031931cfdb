"""A cycle's orders in the back office: the list (filters, sort, pages, empty states) and an
order's page (asked and given quantities, fees, totals, payments with their errors, the
subscription it came from). Orders are placed and confirmed by the real engine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cadence.orders.models import Order, OrderState, PaymentState
from cadence.payments.gateways import ChargeResult, ChargeStatus
from tests.support import factories
from tests.support.manage import close_and_confirm, open_cycle, results_url

pytestmark = pytest.mark.django_db


def orders_url(cycle) -> str:
    return f"/manage/{cycle.shop_id}/order-cycles/{cycle.pk}/orders/"


def order_url(order) -> str:
    return f"/manage/{order.shop_id}/orders/{order.pk}/"


def numbers_in(html: str) -> list[str]:
    """The order numbers the list's rows link to, in order."""
    return re.findall(r'<a href="/manage/\d+/orders/\d+/">([^<]+)</a>', html)


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_order_with_its_customer_items_total_and_states(manager_client, shop):
    world = open_cycle(shop)
    (subscription,) = world.subscribe(1, lines=[(world.carrots, 2), (world.eggs, 1)])
    world.place()
    order = Order.objects.get(proxy_order__subscription=subscription)

    html = manager_client.get(orders_url(world.cycle)).content.decode()

    assert numbers_in(html) == [order.number]
    assert "Buyer 0000" in html and "buyer0@example.org" in html
    assert "3 items" in html and "2\u00a0×\u00a0Carrots" in html and "1\u00a0×\u00a0Eggs" in html
    # 2 × 2.50 + 4.00 + packing 0.50 + delivery 3.00
    assert order.total == 12.50 and "€12.50" in html
    assert 'class="status status-complete">Placed<' in html
    assert 'class="status status-pending">Pending<' in html
    assert f'href="{results_url(world.cycle)}"' in html


def test_the_list_filters_by_order_state_payment_state_and_shortage(
    manager_client, shop, monkeypatch
):
    """Three subscribers ask for 4 kg of carrots with 10 in stock: the third is short. A card
    payment fails at confirmation; a canceled order is filtered by its state."""
    world = open_cycle(shop, carrots_on_hand=10)
    card = factories.payment_method(shop, kind="stripe", name="Card")
    paid_by_card = world.subscribe(2, lines=[(world.carrots, 4)], payment_method=card)
    by_hand = world.subscribe(1, lines=[(world.carrots, 4)], first=2)
    world.place()
    orders = {s.pk: Order.objects.get(proxy_order__subscription=s) for s in paid_by_card + by_hand}
    short = orders[by_hand[0].pk]
    assert short.line_items.get().quantity == 2
    close_and_confirm(
        world,
        monkeypatch,
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_1"),
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined."),
    )
    paid, failed = (orders[s.pk] for s in paid_by_card)
    url = orders_url(world.cycle)

    def listed(query: str) -> list[str]:
        return numbers_in(manager_client.get(url + query).content.decode())

    assert listed("") == sorted(o.number for o in orders.values())
    assert listed("?shortage=yes") == [short.number]
    assert listed("?shortage=no") == sorted([paid.number, failed.number])
    assert listed("?payment_state=failed") == [failed.number]
    assert listed("?state=confirmed&payment_state=paid") == [paid.number]
    assert listed("?state=canceled") == []
    assert listed("?q=BUYER2%40") == [short.number]
    assert listed("?q=buyer1%40example") == [failed.number]
    assert listed(f"?q={paid.number.lower()}") == [paid.number]
    html = manager_client.get(url + "?state=canceled").content.decode()
    assert "No order of this cycle matches these filters." in html
    assert f'<a href="{url}">Show all orders</a>' in html


def test_the_list_sorts_and_pages(manager_client, shop):
    world = open_cycle(shop)
    world.subscribe(30)
    world.place()
    url = orders_url(world.cycle)
    by_number = sorted(Order.objects.values_list("number", flat=True))

    first_page = numbers_in(manager_client.get(url).content.decode())
    second_page = numbers_in(manager_client.get(url + "?page=2").content.decode())
    by_customer = numbers_in(manager_client.get(url + "?sort=-customer").content.decode())

    assert first_page + second_page == by_number
    assert "Page 1 of 2 (30 in all)" in manager_client.get(url).content.decode()
    # Customers are Buyer 0000 … Buyer 0029: the last one first.
    assert by_customer[0] == Order.objects.get(customer__last_name="0029").number


def test_an_upcoming_cycle_says_when_its_orders_will_be_placed(manager_client, shop):
    world = open_cycle(shop, opens_in=timedelta(days=2))
    world.subscribe(2)

    html = manager_client.get(orders_url(world.cycle)).content.decode()

    assert "No order yet: orders are placed when the cycle opens on" in html
    assert 'name="payment_state"' not in html  # no filters for an empty list


def test_an_open_cycle_without_orders_points_to_its_results(manager_client, shop):
    world = open_cycle(shop)

    html = manager_client.get(orders_url(world.cycle)).content.decode()

    assert "No order in this cycle" in html and "results say why" in html


def test_the_list_runs_as_many_queries_for_500_orders_as_for_10(
    manager_client, shop, count_queries
):
    world = open_cycle(shop)
    world.subscribe(10, lines=[(world.carrots, 2), (world.eggs, 1)])
    world.place()
    url = orders_url(world.cycle) + "?sort=customer&payment_state=pending"
    at_10 = count_queries(manager_client, url)

    world.subscribe(490, lines=[(world.carrots, 2), (world.eggs, 1)], first=10)
    world.place()
    assert Order.objects.filter(order_cycle=world.cycle).count() == 500

    assert count_queries(manager_client, url) == at_10


# --- an order's page -----------------------------------------------------------------------


def test_an_order_shows_asked_and_given_quantities_fees_totals_and_a_failed_payment(
    manager_client, shop, monkeypatch
):
    """Carrots: 8 asked for, 5 in stock; eggs in full. The card payment is declined."""
    world = open_cycle(shop, carrots_on_hand=5)
    card = factories.payment_method(shop, kind="stripe", name="Card")
    (subscription,) = world.subscribe(
        1, lines=[(world.carrots, 8), (world.eggs, 1)], payment_method=card
    )
    world.place()
    close_and_confirm(
        world, monkeypatch, ChargeResult(ChargeStatus.FAILED, error="Your card was declined.")
    )
    order = Order.objects.get(proxy_order__subscription=subscription)
    assert (order.state, order.payment_state) == (OrderState.CONFIRMED, PaymentState.FAILED)

    html = manager_client.get(order_url(order)).content.decode()

    assert f"<h1>Order {order.number}</h1>" in html
    assert "Buyer 0000" in html and "buyer0@example.org" in html
    assert f'href="/manage/{shop.pk}/customers/{order.customer_id}/"' in html
    assert f'href="/manage/{shop.pk}/order-cycles/{world.cycle.pk}/">Week 50</a>' in html
    carrots = re.search(r"<tr class=\"short\">(.*?)</tr>", html, re.S).group(1)
    assert "Carrots - 1 kg" in carrots
    assert '<td data-label="Asked for">8</td>' in carrots
    assert "5 <span" in carrots and "3 short" in carrots
    assert "Stock ran short: 1 line was given less than the subscription asked for." in html
    # 5 × 2.50 + 4.00 = 16.50 items; packing 0.50 + delivery 3.00 = 3.50 fees.
    assert "€16.50" in html and "Packing" in html and "€3.50" in html and "€20.00" in html
    assert 'class="status status-confirmed">Confirmed<' in html
    payment = re.search(r'<ul class="cards payments">(.*?)</ul>', html, re.S).group(1)
    assert "Card" in payment and "Failed" in payment
    assert "Refused: Your card was declined." in payment
    assert html.count("Your card was declined.") == 1  # not repeated as the order's failure
    assert f'href="/manage/{shop.pk}/subscriptions/{subscription.pk}/"' in html
    assert f'href="{orders_url(world.cycle)}"' in html


def test_an_order_page_runs_as_many_queries_with_many_lines_and_payments_as_with_one(
    manager_client, shop, count_queries
):
    world = open_cycle(shop)
    (few,) = world.subscribe(1)
    extra = [factories.variant(shop, product_name=f"Veg {n}") for n in range(20)]
    world.cycle.variants.add(*extra)
    (many,) = world.subscribe(1, lines=[(v, 1) for v in extra], first=1)
    world.place()

    one = count_queries(manager_client, order_url(Order.objects.get(proxy_order__subscription=few)))
    twenty = count_queries(
        manager_client, order_url(Order.objects.get(proxy_order__subscription=many))
    )

    assert one == twenty


# --- who may see them ----------------------------------------------------------------------


def test_outsiders_see_neither_the_list_nor_an_order(shop, assert_hidden):
    world = open_cycle(shop)
    world.subscribe(1)
    world.place()
    order = Order.objects.get()

    assert_hidden(orders_url(world.cycle))
    assert_hidden(order_url(order))


def test_another_shops_cycle_and_order_answer_404_to_this_shops_manager(manager_client, shop):
    """The manager of this shop asks for the other shop's rows under their own shop's URL."""
    other = factories.shop("Other farm")
    world = open_cycle(other)
    world.subscribe(1)
    world.place()
    order = Order.objects.get()

    assert (
        manager_client.get(f"/manage/{shop.pk}/order-cycles/{world.cycle.pk}/orders/").status_code
        == 404
    )
    assert manager_client.get(f"/manage/{shop.pk}/orders/{order.pk}/").status_code == 404
    assert manager_client.get(orders_url(world.cycle)).status_code == 404
    assert manager_client.get(order_url(order)).status_code == 404


def test_the_cycles_list_and_the_cycles_page_link_to_its_orders_and_results(manager_client, shop):
    world = open_cycle(shop)

    listed = manager_client.get(f"/manage/{shop.pk}/order-cycles/").content.decode()
    page = manager_client.get(f"/manage/{shop.pk}/order-cycles/{world.cycle.pk}/").content.decode()

    for html in (listed, page):
        assert f'href="{orders_url(world.cycle)}"' in html
        assert f'href="{results_url(world.cycle)}"' in html
