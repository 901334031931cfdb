"""A cycle's results in the back office: what placement and confirmation did, order by order,
sorted by outcome as the shop's summary emails sort them, each order linking to its page.
Placed and confirmed by the real engine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cadence.notifications.models import Email
from cadence.orders.models import Order
from cadence.payments.gateways import ChargeResult, ChargeStatus
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.lifecycle import proxy_order_cancel
from tests.support import factories
from tests.support.manage import close_and_confirm, open_cycle, results_url

pytestmark = pytest.mark.django_db


def section(html: str, name: str) -> str:
    """The HTML of one outcome's section (empty when the page has none)."""
    match = re.search(
        rf'<section class="outcome[^"]*" id="outcome-{name}">(.*?)</section>', html, re.S
    )
    return match.group(1) if match else ""


def order_link(order) -> str:
    return f'<a href="/manage/{order.shop_id}/orders/{order.pk}/">#{order.number}</a>'


def test_before_the_cycle_opens_the_page_says_when_placement_and_confirmation_run(
    manager_client, shop
):
    world = open_cycle(shop, opens_in=timedelta(days=2))
    world.subscribe(3)

    html = manager_client.get(results_url(world.cycle)).content.decode()

    assert "Placement runs when the cycle opens on" in html
    assert "Confirmation runs when the cycle closes on" in html
    assert 'class="outcome' not in html


def test_placement_lists_orders_placed_in_full_short_empty_and_failed(manager_client, shop):
    """Carrots: 3 kg in stock for two subscribers of 2 kg each (the second is short); a third
    asks only for eggs, out of stock (empty); a fourth's shipping method is gone (failed)."""
    world = open_cycle(shop, carrots_on_hand=3)
    world.eggs.on_hand = 0
    world.eggs.save(update_fields=["on_hand"])
    full, short = world.subscribe(2, lines=[(world.carrots, 2)])
    (empty,) = world.subscribe(1, lines=[(world.eggs, 1)], first=2)
    gone = factories.shipping_method(shop, name="Old van")
    (failed,) = world.subscribe(1, first=3)
    failed.shipping_method = gone
    failed.save(update_fields=["shipping_method"])
    gone.active = False
    gone.save(update_fields=["active"])

    world.place()

    proxies = {p.subscription_id: p for p in ProxyOrder.objects.all()}
    assert proxies[empty.pk].state == ProxyOrderState.EMPTY
    assert proxies[failed.pk].state == ProxyOrderState.FAILED
    html = manager_client.get(results_url(world.cycle)).content.decode()
    full_order = Order.objects.get(proxy_order__subscription=full)
    short_order = Order.objects.get(proxy_order__subscription=short)
    assert "2 orders placed." in html
    assert "Placed in full (1 order):" in section(html, "placed_in_full")
    assert order_link(full_order) in section(html, "placed_in_full")
    shortages = section(html, "shortages")
    assert "Insufficient stock (1 order): placed with less than was asked for." in shortages
    assert (
        order_link(short_order) in shortages
        and "Buyer 0001 &lt;buyer1@example.org&gt;" in shortages
    )
    assert "No stock (1 subscription)" in section(html, "empty")
    assert "buyer2@example.org" in section(html, "empty")
    failures = section(html, "failed")
    assert "Failed (1 subscription):" in failures
    assert "buyer3@example.org" in failures and proxies[failed.pk].reason in failures
    assert proxies[failed.pk].reason
    # Not closed yet.
    assert "Confirmation runs when the cycle closes on" in html
    # The page sorts them as the shop's placement summary does.
    summary = Email.objects.get(kind="placement_summary").context
    assert [r["number"] for r in summary["shortages"]] == [short_order.number]
    assert summary["counts"] == {"shortages": 1, "empty": 1, "failed": 1}


def test_confirmation_lists_paid_failed_awaiting_and_by_hand(manager_client, shop, monkeypatch):
    world = open_cycle(shop)
    card = factories.payment_method(shop, kind="stripe", name="Card")
    paid, declined, awaiting = world.subscribe(3, payment_method=card)
    (by_hand,) = world.subscribe(1, first=3)
    (skipping,) = world.subscribe(1, first=4)
    world.place()
    proxy_order_cancel(proxy_order=ProxyOrder.objects.get(subscription=skipping))
    close_and_confirm(
        world,
        monkeypatch,
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_1"),
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined."),
        ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_3"),
    )
    orders = {
        s.pk: Order.objects.get(proxy_order__subscription=s)
        for s in (paid, declined, awaiting, by_hand)
    }

    html = manager_client.get(results_url(world.cycle)).content.decode()

    assert "4 orders placed." in html and "4 orders confirmed." in html
    assert "1 subscription skips this cycle." in html
    assert "Paid by card (1 order):" in section(html, "paid_orders")
    assert order_link(orders[paid.pk]) in section(html, "paid_orders")
    failed = section(html, "failed_payment")
    assert "Failed payment (1 order):" in failed
    assert order_link(orders[declined.pk]) in failed and "Your card was declined." in failed
    assert order_link(orders[awaiting.pk]) in section(html, "awaiting_authentication")
    assert order_link(orders[by_hand.pk]) in section(html, "to_collect")
    # A declined payment is a confirmation outcome, not a placement failure.
    assert section(html, "failed") == ""
    assert "Placed in full (4 orders):" in section(html, "placed_in_full")
    summary = Email.objects.get(kind="confirmation_summary").context
    assert summary["counts"]["failed_payment"] == 1 and summary["counts"]["paid_orders"] == 1


def test_a_long_outcome_lists_its_first_orders_and_links_to_the_rest(
    manager_client, shop, monkeypatch
):
    from cadence.web.manage import orders as pages

    monkeypatch.setattr(pages, "RESULTS_LIMIT", 2)
    world = open_cycle(shop)
    world.subscribe(5)
    world.place()

    html = manager_client.get(results_url(world.cycle)).content.decode()

    placed = section(html, "placed_in_full")
    assert placed.count("/orders/") == 3  # two orders and the link to the rest
    assert "and 3 more" in placed
    assert f"/order-cycles/{world.cycle.pk}/orders/?shortage=no" in placed


def test_the_page_runs_as_many_queries_for_500_orders_as_for_10(
    manager_client, shop, count_queries, monkeypatch
):
    world = open_cycle(shop)
    world.subscribe(10)
    world.place()
    url = results_url(world.cycle)
    at_10 = count_queries(manager_client, url)

    world.subscribe(490, first=10)
    world.place()
    close_and_confirm(world, monkeypatch)

    assert Order.objects.filter(order_cycle=world.cycle, state="confirmed").count() == 500
    assert count_queries(manager_client, url) == at_10


def test_outsiders_do_not_see_the_results(shop, assert_hidden, manager_client):
    world = open_cycle(shop)
    other = factories.shop("Other farm")
    theirs = open_cycle(other)

    assert_hidden(results_url(world.cycle))
    assert manager_client.get(results_url(theirs.cycle)).status_code == 404
    assert (
        manager_client.get(f"/manage/{shop.pk}/order-cycles/{theirs.cycle.pk}/results/").status_code
        == 404
    )


def test_the_page_reads_in_french(manager_client, shop):
    """Headings reuse the summary emails' words, already in the French catalogue."""
    world = open_cycle(shop)
    world.subscribe(2)
    world.place()

    html = manager_client.get(results_url(world.cycle), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "2 commandes créées." in html


def test_the_results_sort_orders_as_the_shops_summary_emails_do(shop, monkeypatch):
    """Every outcome at once; each list of the emails is the page's list, row for row."""
    from cadence.subscriptions.selectors import cycle_results

    world = open_cycle(shop, carrots_on_hand=7)
    honey = factories.variant(shop, on_hand=0, product_name="Honey")
    world.cycle.variants.add(honey)
    card = factories.payment_method(shop, kind="stripe", name="Card")
    world.subscribe(4, lines=[(world.carrots, 2)], payment_method=card)  # the 4th is short
    world.subscribe(1, lines=[(honey, 1)], first=4)
    (failing,) = world.subscribe(1, first=5)
    failing.payment_method = factories.payment_method(shop, kind="other", name="Barter")
    failing.save(update_fields=["payment_method"])
    world.subscribe(1, lines=[(world.eggs, 1)], first=6)
    world.place()
    close_and_confirm(
        world,
        monkeypatch,
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_1"),
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined."),
        ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_3"),
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_4"),
    )

    results = cycle_results(order_cycle=world.cycle, limit=500)

    def rows(lists: dict, name: str) -> list[tuple]:
        return [(r["number"], r["customer"], r["reason"]) for r in lists[name]]

    placement = Email.objects.get(kind="placement_summary").context
    confirmation = Email.objects.get(kind="confirmation_summary").context
    for name in ("shortages", "empty", "failed"):
        assert rows(results["placement"], name) == rows(placement, name), name
        assert results["placement"]["counts"][name] == placement["counts"][name]
    assert results["placement"]["placed"] == placement["placed"] == 5
    for name in confirmation["counts"]:
        assert rows(results["confirmation"], name) == rows(confirmation, name), name
        assert results["confirmation"]["counts"][name] == confirmation["counts"][name]
    assert results["confirmation"]["confirmed"] == confirmation["confirmed"] == 5
    # Each outcome came up at least once.
    assert all(placement["counts"].values())
    assert {name for name, n in confirmation["counts"].items() if n} == {
        "paid_orders",
        "failed_payment",
        "awaiting_authentication",
        "to_collect",
        "not_placed",
    }
