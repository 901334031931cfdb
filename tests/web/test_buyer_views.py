"""The buyer's pages for their orders and deliveries, through Django's test client.

Orders are placed by the real placement engine around the real clock, because the pages and
the buyer services they call read the time themselves.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cadence.catalog.models import Variant
from cadence.cycles.models import OrderCycle
from cadence.orders.models import LineItem, Order, OrderState
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.lifecycle import subscription_create
from cadence.subscriptions.services.placement import place_proxy_orders
from tests.support import factories

pytestmark = pytest.mark.django_db


def make_world(*, allow_order_changes: bool = True, tz: str = "America/Toronto"):
    """A shop (in `tz`) with a closed, an open and an upcoming weekly cycle, two products with
    50 in stock each, and a buyer `ann` with an account subscribed to 3 apples and 1 pear."""
    now = timezone.now()
    shop = factories.shop(
        "Les Paniers", allow_order_changes=allow_order_changes, timezone=tz, currency="CAD"
    )
    apples = factories.variant(shop, price="4.00", on_hand=50, product_name="Apples")
    pears = factories.variant(shop, price="6.00", on_hand=50, product_name="Pears")
    cycles = [
        factories.order_cycle(
            shop,
            opens_at=now + timedelta(days=start),
            closes_at=now + timedelta(days=end),
            variants=[apples, pears],
            name=name,
        )
        for name, start, end in [("Past week", -10, -3), ("This week", -1, 3), ("Next week", 5, 10)]
    ]
    w = SimpleNamespace(
        now=now,
        shop=shop,
        apples=apples,
        pears=pears,
        closed=cycles[0],
        open=cycles[1],
        upcoming=cycles[2],
        schedule=factories.schedule(shop, cycles, name="Weekly"),
        shipping=factories.shipping_method(shop, fee="2.00", name="Home delivery"),
        cash=factories.payment_method(shop, kind="manual"),
    )
    w.ann = factories.user("ann@example.org")
    w.ann_order = subscribe_and_place(w, w.ann, [(apples, 3), (pears, 1)])
    return w


def subscribe_and_place(w, user, lines) -> Order:
    """A subscription for `user` (a customer of the shop) and its order in the open cycle."""
    customer = factories.customer(w.shop, user.email, user=user)
    subscription = subscription_create(
        shop=w.shop,
        customer_id=customer.pk,
        schedule_id=w.schedule.pk,
        payment_method_id=w.cash.pk,
        shipping_method_id=w.shipping.pk,
        begins_at=w.now - timedelta(days=30),
        line_items=[{"variant_id": v.pk, "quantity": q} for v, q in lines],
        now=w.now,
    )
    proxy = subscription.proxy_orders.get(order_cycle=w.open)
    summary = place_proxy_orders(proxy_order_ids=[proxy.pk])
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED, (summary, proxy.reason)
    return proxy.order


def on_hand(variant: Variant) -> int:
    return Variant.objects.get(pk=variant.pk).on_hand


def line(order: Order, variant: Variant) -> LineItem:
    return LineItem.objects.get(order=order, variant=variant)


@pytest.fixture
def w():
    return make_world()


@pytest.fixture
def ann(client, w):
    client.force_login(w.ann)
    return client


def test_pages_require_sign_in(client):
    """Anonymous visitors are sent to sign in from every buyer page."""
    for path in ("/account/orders/", "/account/orders/1/", "/account/subscriptions/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_account_page_links_to_the_orders_and_subscriptions(ann):
    """The account page leads to the two new pages."""
    content = ann.get("/account/").content.decode()
    assert "/account/orders/" in content
    assert "/account/subscriptions/" in content


def test_orders_page_lists_the_buyers_own_orders_only(ann, w):
    """An order of another buyer of the same shop is not listed; the buyer's open order shows
    its shop, cycle, delivery, items, total in the shop's currency and its change deadline
    in the shop's time zone."""
    bob_order = subscribe_and_place(w, factories.user("bob@example.org"), [(w.pears, 2)])

    content = ann.get("/account/orders/").content.decode()

    assert w.ann_order.number in content
    assert bob_order.number not in content
    assert "Les Paniers" in content and "This week" in content and "Home delivery" in content
    assert "3 × Apples" in content and "1 × Pears" in content
    w.ann_order.refresh_from_db()
    assert str(w.ann_order.total) == "20.00"  # 3 × 4.00 + 6.00 + 2.00 delivery
    assert "CA$20.00" in content
    closes = timezone.localtime(w.open.closes_at, ZoneInfo("America/Toronto"))
    # Day, month, year, then the 24-hour time on the shop's clock, and the zone's name.
    day = f"{closes.day} {closes:%b %Y, %H:%M} ({closes.tzname()})"
    assert f"Changes allowed until {day}" in content
    assert "No past order yet" in content


FRENCH_MONTHS = "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.".split()


def test_orders_and_order_pages_read_in_french(ann, w):
    """In French, money reads `20,00 $CA`, moments `3 déc. 2026 18:00` on the shop's clock
    (day first, 24-hour time, never `12/03/2026`), and labels take a space before the colon."""
    closes = timezone.localtime(w.open.closes_at, ZoneInfo("America/Toronto"))
    day = f"{closes.day} {FRENCH_MONTHS[closes.month - 1]} {closes.year} {closes:%H:%M}"

    orders = ann.get("/account/orders/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    detail = ann.get(
        f"/account/orders/{w.ann_order.pk}/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert "20,00\u00a0$CA" in orders and "20,00\u00a0$CA" in detail
    assert "4,00\u00a0$CA" in detail  # the price of one apple
    assert f"Modifications possibles jusqu&#x27;au {day} ({closes.tzname()})." in orders
    assert day in detail
    assert "paiement\u00a0:" in orders
    assert "CAD" not in orders and f"{closes:%m/%d/%Y}" not in detail


def test_a_buyer_without_orders_or_subscriptions_sees_friendly_empty_states(client, w):
    """Someone who is nobody's customer sees explanations, not empty tables."""
    client.force_login(factories.user("nobody@example.org"))

    orders = client.get("/account/orders/").content.decode()
    subscriptions = client.get("/account/subscriptions/").content.decode()

    assert "You have no order in an open cycle right now" in orders
    assert "You have no subscription yet" in subscriptions


def test_another_buyers_order_answers_404(client, w):
    """Another buyer's order id answers 404 to a GET and to every POST, and nothing changes."""
    client.force_login(factories.user("bob@example.org"))
    path = f"/account/orders/{w.ann_order.pk}/"

    assert client.get(path).status_code == 404
    assert client.post(path, {f"line-{w.apples.pk}": "0"}).status_code == 404
    assert client.post(path + "cancel/").status_code == 404
    assert line(w.ann_order, w.apples).quantity == 3
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.COMPLETE


def test_lowering_a_quantity_updates_the_order_and_releases_stock(ann, w):
    """Lowering apples from 3 to 1 saves the line, gives 2 back to the stock, recomputes the
    total, and redirects back to the order with a message."""
    stock_before = on_hand(w.apples)
    path = f"/account/orders/{w.ann_order.pk}/"

    response = ann.post(path, {f"line-{w.apples.pk}": "1", f"line-{w.pears.pk}": "1"})

    assert response.status_code == 302 and response["Location"] == path
    assert line(w.ann_order, w.apples).quantity == 1
    assert on_hand(w.apples) == stock_before + 2
    assert Order.objects.get(pk=w.ann_order.pk).total == 12  # 4.00 + 6.00 + 2.00
    assert "Your order was updated." in ann.get(path).content.decode()


def test_the_remove_button_removes_one_line(ann, w):
    """The Remove button of a line sets it to 0 whatever its quantity box says."""
    stock_before = on_hand(w.pears)

    response = ann.post(
        f"/account/orders/{w.ann_order.pk}/",
        {f"line-{w.apples.pk}": "3", f"line-{w.pears.pk}": "1", "remove": str(w.pears.pk)},
    )

    assert response.status_code == 302
    assert line(w.ann_order, w.pears).quantity == 0
    assert line(w.ann_order, w.apples).quantity == 3
    assert on_hand(w.pears) == stock_before + 1


def test_raising_a_quantity_is_refused_next_to_the_line(ann, w):
    """Asking for more apples than placed shows the form again with the error by that line;
    nothing is written and no stock moves."""
    stock_before = on_hand(w.apples)

    response = ann.post(
        f"/account/orders/{w.ann_order.pk}/",
        {f"line-{w.apples.pk}": "5", f"line-{w.pears.pk}": "1"},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "Quantities can only be lowered here: at most 3." in content
    assert f'id="id_line-{w.apples.pk}-error"' in content
    assert line(w.ann_order, w.apples).quantity == 3
    assert on_hand(w.apples) == stock_before


def test_cancel_cancels_the_order_and_its_delivery(ann, w):
    """The cancel button cancels the order (stock back on the shelf) and marks the delivery
    skipped; the page then explains that the order can no longer be changed."""
    stock_before = on_hand(w.apples)
    path = f"/account/orders/{w.ann_order.pk}/"

    response = ann.post(path + "cancel/")

    assert response.status_code == 302 and response["Location"] == path
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.CANCELED
    assert on_hand(w.apples) == stock_before + 3
    assert ProxyOrder.objects.get(order=w.ann_order).state == ProxyOrderState.CANCELED
    content = ann.get(path).content.decode()
    assert "Your order was canceled." in content
    assert "This order is canceled" in content
    assert 'id="order-lines"' not in content


def test_skip_and_resume_a_delivery(ann, w):
    """The subscriptions page lists the upcoming deliveries with Skip; skipping the open one
    cancels its order, and Resume brings the order back."""
    proxy = ProxyOrder.objects.get(order=w.ann_order)
    upcoming = ProxyOrder.objects.get(subscription=proxy.subscription, order_cycle=w.upcoming)
    page = ann.get("/account/subscriptions/").content.decode()
    assert f"/account/deliveries/{proxy.pk}/skip/" in page
    assert f"/account/deliveries/{upcoming.pk}/skip/" in page
    assert "Weekly" in page and "Active" in page

    response = ann.post(f"/account/deliveries/{proxy.pk}/skip/")

    assert response.status_code == 302 and response["Location"] == "/account/subscriptions/"
    assert ProxyOrder.objects.get(pk=proxy.pk).state == ProxyOrderState.CANCELED
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.CANCELED
    page = ann.get("/account/subscriptions/").content.decode()
    assert "The delivery was skipped." in page
    assert f"/account/deliveries/{proxy.pk}/resume/" in page

    assert ann.post(f"/account/deliveries/{proxy.pk}/resume/").status_code == 302
    assert ProxyOrder.objects.get(pk=proxy.pk).state == ProxyOrderState.PLACED
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.COMPLETE


def test_another_buyers_delivery_answers_404(client, w):
    """Skipping someone else's delivery answers 404 and changes nothing."""
    client.force_login(factories.user("bob@example.org"))
    proxy = ProxyOrder.objects.get(order=w.ann_order)

    assert client.post(f"/account/deliveries/{proxy.pk}/skip/").status_code == 404
    assert ProxyOrder.objects.get(pk=proxy.pk).state == ProxyOrderState.PLACED


def test_shop_without_order_changes_shows_no_forms_and_refuses_posts(client):
    """Where the shop does not allow changes the buyer sees the order and deliveries without
    any form, with the reason; a POST anyway answers a 403 page that says why in words."""
    w = make_world(allow_order_changes=False)
    client.force_login(w.ann)
    path = f"/account/orders/{w.ann_order.pk}/"
    proxy = ProxyOrder.objects.get(order=w.ann_order)

    detail = client.get(path).content.decode()
    subscriptions = client.get("/account/subscriptions/").content.decode()
    assert 'id="order-lines"' not in detail and "Cancel this order" not in detail
    assert "Les Paniers does not allow changes to orders." in detail
    assert "Changes not allowed" in client.get("/account/orders/").content.decode()
    assert "/skip/" not in subscriptions
    assert "does not let buyers change their deliveries" in subscriptions

    for response in (
        client.post(path, {f"line-{w.apples.pk}": "1", f"line-{w.pears.pk}": "1"}),
        client.post(path + "cancel/"),
        client.post(f"/account/deliveries/{proxy.pk}/skip/"),
    ):
        assert response.status_code == 403
        assert "This change was not made" in response.content.decode()
        assert "Les Paniers does not allow changes to orders." in response.content.decode()
    assert line(w.ann_order, w.apples).quantity == 3
    assert ProxyOrder.objects.get(pk=proxy.pk).state == ProxyOrderState.PLACED


def test_closed_cycle_is_explained_and_refuses_changes(ann, w):
    """Once the cycle has closed (even before confirmation ran) the order shows why it can no
    longer change, moves to past orders, and a POST from a stale page answers 409 in words."""
    OrderCycle.objects.filter(pk=w.open.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    path = f"/account/orders/{w.ann_order.pk}/"

    detail = ann.get(path).content.decode()
    listing = ann.get("/account/orders/").content.decode()
    response = ann.post(path, {f"line-{w.apples.pk}": "1", f"line-{w.pears.pk}": "1"})

    assert "Changes not allowed: the order cycle closed on" in detail
    assert 'id="order-lines"' not in detail
    assert "You have no order in an open cycle right now" in listing
    assert w.ann_order.number in listing
    assert response.status_code == 409
    assert "has closed: it can no longer be changed" in response.content.decode()
    assert line(w.ann_order, w.apples).quantity == 3


def test_htmx_refusal_replaces_the_main_area(client):
    """With htmx a refused change answers 200 with headers that swap the explanation into the
    page (htmx leaves error answers unswapped)."""
    w = make_world(allow_order_changes=False)
    client.force_login(w.ann)

    response = client.post(f"/account/orders/{w.ann_order.pk}/cancel/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert (response["HX-Retarget"], response["HX-Reselect"]) == ("main", "main")
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.COMPLETE


def test_a_buyer_keeps_seeing_their_history_after_the_shop_removes_them(ann, w):
    """Once the shop deletes the buyer's customer record (its subscription canceled), the
    buyer still sees the order on their page but can no longer change it."""
    from cadence.customers.services import customer_delete
    from cadence.subscriptions.services.lifecycle import subscription_cancel

    proxy = ProxyOrder.objects.get(order=w.ann_order)
    subscription_cancel(subscription=proxy.subscription, open_orders="keep")
    customer_delete(customer=proxy.subscription.customer)

    assert w.ann_order.number in ann.get("/account/orders/").content.decode()
    response = ann.post(f"/account/orders/{w.ann_order.pk}/cancel/")
    assert response.status_code == 404
    assert Order.objects.get(pk=w.ann_order.pk).state == OrderState.COMPLETE
