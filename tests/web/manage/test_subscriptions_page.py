"""A subscription's page in the back office: its details, estimate, deliveries (skip and
resume), its history, and the pause, unpause and cancel confirmations (with the question of
orders already placed in open cycles)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cadence.cycles.models import OrderCycle
from cadence.orders.models import OrderState
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    SubscriptionEvent,
)
from cadence.subscriptions.services.lifecycle import subscription_pause, subscription_update
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support.manage import detail_url, list_url, setup_shop, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(shop):
    return setup_shop(shop)


def proxy_in(sub, cycle) -> ProxyOrder:
    return ProxyOrder.objects.get(subscription=sub, order_cycle=cycle)


def action_url(sub, action: str) -> str:
    return f"{detail_url(sub)}{action}/"


def delivery_url(sub, proxy, action: str) -> str:
    return f"{detail_url(sub)}deliveries/{proxy.pk}/{action}/"


def placed(w, sub):
    """Place the open cycle's orders with the real placement engine; the sub's proxy order."""
    place_cycle(order_cycle=w.open)
    proxy = proxy_in(sub, w.open)
    assert proxy.state == ProxyOrderState.PLACED and proxy.order is not None
    return proxy


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_details_products_estimate_and_deliveries(manager_client, w):
    ann = factories.customer(w.shop, "ann@example.org", first_name="Ann", last_name="Lee")
    sub = subscribe(w, ann)

    response = manager_client.get(detail_url(sub))

    assert response.status_code == 200
    text = response.text
    assert "Ann Lee · Weekly" in text  # the title
    assert 'class="status status-active">Active<' in text
    for shown in ("ann@example.org", "Cash", "Home delivery", "12 rue des Lilas", "69003 Lyon"):
        assert shown in text
    assert "Apples - 1 kg" in text
    # Estimate: 2 × 4.00 + delivery 2.00 + cash 0.50.
    assert "€10.50" in text
    # One delivery per cycle not closed; the open one says when it closes.
    assert "Week 2" in text and "Week 3" in text and "Week 1" not in text
    assert "closes in 3\xa0days" in text or "closes in 4\xa0days" in text
    assert text.count(">Skip</button>") == 2
    assert "not placed yet" in text
    # Who made it, in the history.
    assert "Created the subscription." in text
    assert f"{detail_url(sub)}edit/" in text


def test_a_placed_order_links_to_its_page_with_its_total(manager_client, w):
    sub = subscribe(w)
    proxy = placed(w, sub)

    text = manager_client.get(detail_url(sub)).text

    assert f'href="/manage/{w.shop.pk}/orders/{proxy.order_id}/"' in text
    assert proxy.order.number in text
    assert "Placed order" in text and f"{proxy.order.number} for Week 2" in text


def test_a_product_no_longer_offered_is_flagged(manager_client, w):
    sub = subscribe(w)
    w.open.variants.remove(w.apples)
    w.upcoming.variants.remove(w.apples)

    text = manager_client.get(detail_url(sub)).text

    assert "In no open or upcoming order cycle of the schedule" in text


# --- skip and resume -----------------------------------------------------------------------


def test_skip_then_resume_a_delivery(manager_client, w, manager):
    sub = subscribe(w)
    proxy = proxy_in(sub, w.upcoming)

    response = manager_client.post(delivery_url(sub, proxy, "skip"))

    assert response.status_code == 302 and response["Location"] == detail_url(sub)
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.CANCELED
    text = manager_client.get(detail_url(sub)).text
    assert "The delivery of Week 3 is skipped." in text
    assert "Skipped the delivery of Week 3." in text
    assert manager.email in text
    assert ">Resume</button>" in text

    manager_client.post(delivery_url(sub, proxy, "resume"))

    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING
    assert "Resumed the delivery of Week 3." in manager_client.get(detail_url(sub)).text


def test_skipping_a_placed_delivery_cancels_its_order(manager_client, w):
    sub = subscribe(w)
    proxy = placed(w, sub)

    manager_client.post(delivery_url(sub, proxy, "skip"))

    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.CANCELED
    assert proxy.order.state == OrderState.CANCELED
    assert f"Order {proxy.order.number} canceled." in manager_client.get(detail_url(sub)).text


def test_a_closed_cycles_delivery_cannot_be_skipped_and_the_service_says_why(manager_client, w):
    sub = subscribe(w)
    proxy = ProxyOrder.objects.create(subscription=sub, order_cycle=w.closed)

    response = manager_client.post(delivery_url(sub, proxy, "skip"), follow=True)

    assert "Week 1 has closed: this delivery can no longer be skipped." in response.text
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING


def test_skip_and_resume_are_post_only_and_for_this_subscription_only(manager_client, w):
    sub, other = subscribe(w), subscribe(w)
    proxy = proxy_in(other, w.upcoming)

    assert manager_client.get(delivery_url(other, proxy, "skip")).status_code == 405
    assert manager_client.post(delivery_url(sub, proxy, "skip")).status_code == 404


# --- pause, unpause, cancel ----------------------------------------------------------------


def test_pause_asks_nothing_about_orders_when_none_is_placed(manager_client, w):
    sub = subscribe(w)

    page = manager_client.get(action_url(sub, "pause"))

    assert page.status_code == 200
    assert 'name="open_orders"' not in page.text
    assert 'name="resume_on"' in page.text
    response = manager_client.post(action_url(sub, "pause"), {"resume_on": ""})
    assert response.status_code == 302 and response["Location"] == detail_url(sub)
    sub.refresh_from_db()
    assert sub.paused_at is not None and sub.resume_on is None


def test_pause_keeping_the_orders_already_placed(manager_client, w):
    sub = subscribe(w)
    proxy = placed(w, sub)

    page = manager_client.get(action_url(sub, "pause"))
    assert 'name="open_orders"' in page.text and proxy.order.number in page.text

    back = list_url(w.shop) + "?status=active"
    response = manager_client.post(action_url(sub, "pause"), {"open_orders": "keep", "next": back})

    assert response.status_code == 302 and response["Location"] == back
    sub.refresh_from_db()
    proxy.refresh_from_db()
    assert sub.paused_at is not None
    assert proxy.state == ProxyOrderState.PLACED
    assert proxy.order.state == OrderState.COMPLETE
    text = manager_client.get(detail_url(sub)).text
    assert "Paused the subscription." in text
    assert "Orders already placed in open cycles were kept." in text


def test_pause_canceling_the_orders_already_placed(manager_client, w):
    sub = subscribe(w)
    proxy = placed(w, sub)

    manager_client.post(action_url(sub, "pause"), {"open_orders": "cancel"})

    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.CANCELED
    assert proxy.order.state == OrderState.CANCELED
    assert f"Orders canceled: {proxy.order.number}" in manager_client.get(detail_url(sub)).text


def test_pause_needs_the_choice_when_orders_are_placed(manager_client, w):
    sub = subscribe(w)
    placed(w, sub)

    response = manager_client.post(action_url(sub, "pause"), {})

    assert response.status_code == 200
    assert "This field is required." in response.text
    sub.refresh_from_db()
    assert sub.paused_at is None


def test_pause_until_a_date(manager_client, w):
    sub = subscribe(w)
    day = (timezone.now() + timedelta(days=20)).date()

    response = manager_client.post(
        action_url(sub, "pause"), {"resume_on": day.isoformat()}, follow=True
    )

    sub.refresh_from_db()
    assert sub.resume_on == day
    assert "is paused until" in response.text
    assert "Paused the subscription until" in response.text
    assert "unpauses by itself on" in response.text


def test_a_resume_date_in_the_past_is_refused_with_the_services_message(manager_client, w):
    sub = subscribe(w)

    response = manager_client.post(
        action_url(sub, "pause"), {"resume_on": (timezone.now() - timedelta(days=2)).date()}
    )

    assert response.status_code == 200
    assert "Resume on must be a date in the future" in response.text
    sub.refresh_from_db()
    assert sub.paused_at is None


def test_pausing_twice_shows_the_services_refusal(manager_client, w):
    sub = subscribe(w)
    subscription_pause(subscription=sub, open_orders=None)

    response = manager_client.post(action_url(sub, "pause"), {})

    assert response.status_code == 200
    assert "This subscription is already paused." in response.text


def test_unpause(manager_client, w):
    sub = subscribe(w)
    subscription_pause(subscription=sub, open_orders=None)

    assert "Unpause the subscription" in manager_client.get(action_url(sub, "unpause")).text
    response = manager_client.post(action_url(sub, "unpause"), follow=True)

    sub.refresh_from_db()
    assert sub.paused_at is None
    assert "runs again" in response.text
    assert "Unpaused the subscription." in response.text


def test_cancel_asks_first_then_cancels(manager_client, w):
    sub = subscribe(w)

    page = manager_client.get(action_url(sub, "cancel"))

    assert "Canceling is final" in page.text
    sub.refresh_from_db()
    assert sub.canceled_at is None

    response = manager_client.post(
        action_url(sub, "cancel"), {"next": list_url(w.shop)}, follow=True
    )

    sub.refresh_from_db()
    assert sub.canceled_at is not None
    assert response.redirect_chain[-1][0] == list_url(w.shop)
    assert "is canceled." in response.text
    text = manager_client.get(detail_url(sub)).text
    assert "Canceled the subscription." in text
    assert ">Skip</button>" not in text  # nothing left to skip
    assert action_url(sub, "pause") not in text


def test_cancel_keeping_placed_orders(manager_client, w):
    sub = subscribe(w)
    proxy = placed(w, sub)

    manager_client.post(action_url(sub, "cancel"), {"open_orders": "keep"})

    proxy.refresh_from_db()
    assert proxy.order.state == OrderState.COMPLETE
    assert f"Orders kept: {proxy.order.number}" in manager_client.get(detail_url(sub)).text


def test_next_outside_the_shops_subscriptions_is_ignored(manager_client, w):
    sub = subscribe(w)

    response = manager_client.post(action_url(sub, "pause"), {"next": "//evil.example/"})

    assert response["Location"] == detail_url(sub)


# --- history -------------------------------------------------------------------------------


def test_history_shows_an_edit_with_before_and_after_and_who_made_it(manager_client, w, manager):
    sub = subscribe(w)
    pickup = factories.shipping_method(w.shop, name="Pick-up")
    subscription_update(
        subscription=sub,
        changes={
            "shipping_method_id": pickup.pk,
            "line_items": [
                {"variant_id": w.apples.pk, "quantity": 3},
                {"variant_id": w.pears.pk, "quantity": 1},
            ],
        },
        actor=manager,
    )

    text = manager_client.get(detail_url(sub)).text

    assert "Changed the subscription." in text
    assert "Shipping method: Home delivery → Pick-up" in text
    assert "Apples - 1 kg: quantity 2 → 3" in text
    assert "Pears - 1 kg: added, quantity 1" in text
    assert manager.email in text
    # Newest first: the edit comes before the creation.
    assert text.index("Changed the subscription.") < text.index("Created the subscription.")


def test_history_of_an_unknown_kind_reads_as_a_label(manager_client, w):
    sub = subscribe(w)
    SubscriptionEvent.objects.create(subscription=sub, kind="imported_from_csv", data={})

    assert "Imported from csv." in manager_client.get(detail_url(sub)).text


def test_history_says_the_system_did_what_nobody_did(manager_client, w):
    sub = subscribe(w)  # no actor

    assert "Cadence (automatic)" in manager_client.get(detail_url(sub)).text


# --- who may see it ------------------------------------------------------------------------


def test_outsiders_see_nothing_and_change_nothing(w, assert_hidden):
    sub = subscribe(w)
    proxy = proxy_in(sub, w.upcoming)

    assert_hidden(detail_url(sub))
    for action in ("pause", "unpause", "cancel"):
        assert_hidden(action_url(sub, action))
        assert_hidden(action_url(sub, action), method="post", data={"open_orders": "cancel"})
    assert_hidden(delivery_url(sub, proxy, "skip"), method="post")
    assert_hidden(delivery_url(sub, proxy, "resume"), method="post")
    assert_hidden(delivery_url(sub, proxy, "retry"), method="post")

    sub.refresh_from_db()
    proxy.refresh_from_db()
    assert sub.paused_at is None and sub.canceled_at is None
    assert proxy.state == ProxyOrderState.PENDING


def test_a_missing_subscription_is_404(manager_client, w):
    assert manager_client.get(f"/manage/{w.shop.pk}/subscriptions/999999/").status_code == 404


# --- queries -------------------------------------------------------------------------------


def _events(sub, w, cycles, pickup, numbers) -> None:
    """Four events (an edit, a skip, a pause, an unpause) per number, written in bulk."""
    SubscriptionEvent.objects.bulk_create(
        SubscriptionEvent(subscription=sub, kind=kind, data=data)
        for i in numbers
        for kind, data in (
            (
                "updated",
                {
                    "changes": {
                        "shipping_method_id": {"from": w.shipping.pk, "to": pickup.pk},
                        "payment_method_id": {"from": w.cash.pk, "to": w.cash.pk},
                        "line_items": {
                            "from": [{"variant_id": w.apples.pk, "quantity": 2}],
                            "to": [{"variant_id": w.pears.pk, "quantity": i + 1}],
                        },
                    }
                },
            ),
            ("delivery_skipped", {"order_cycle_id": cycles[i % len(cycles)].pk, "order_id": None}),
            ("paused", {"open_orders": "cancel", "canceled_orders": [], "resume_on": None}),
            ("unpaused", {"placing": []}),
        )
    )


def test_the_page_runs_as_many_queries_for_50_deliveries_and_200_events_as_for_a_few(
    manager_client, w, count_queries
):
    """Deliveries, their orders and the names the history refers to are read in bulk."""
    sub = subscribe(w)
    placed(w, sub)
    pickup = factories.shipping_method(w.shop, name="Pick-up")
    _events(sub, w, [w.open], pickup, range(1))
    url = detail_url(sub)
    few = count_queries(manager_client, url)

    start = w.now + timedelta(days=20)
    cycles = OrderCycle.objects.bulk_create(
        [
            OrderCycle(
                shop=w.shop,
                name=f"Later {i}",
                opens_at=start + timedelta(days=7 * i),
                closes_at=start + timedelta(days=7 * i + 5),
            )
            for i in range(48)
        ]
    )
    w.schedule.order_cycles.add(*cycles)
    ProxyOrder.objects.bulk_create(ProxyOrder(subscription=sub, order_cycle=c) for c in cycles)
    _events(sub, w, cycles, pickup, range(1, 50))
    assert sub.proxy_orders.count() == 50 and sub.events.count() >= 200

    assert count_queries(manager_client, url) == few


def test_an_order_placed_between_the_question_and_the_answer_is_asked_about(
    manager_client, w, monkeypatch
):
    """The page asked nothing (no order was placed yet); one is placed before the manager
    confirms: the service refuses, and the page now asks what to do with it."""
    from cadence.web.manage import subscriptions as pages

    sub = subscribe(w)
    proxy = placed(w, sub)
    real = pages.placed_open_proxy_orders
    calls = []

    def seen_late(**kwargs):
        calls.append(kwargs)
        return real(**kwargs) if len(calls) > 1 else ProxyOrder.objects.none()

    monkeypatch.setattr(pages, "placed_open_proxy_orders", seen_late)

    response = manager_client.post(action_url(sub, "pause"), {})

    assert response.status_code == 200
    assert "An order of this subscription was placed meanwhile" in response.text
    assert 'name="open_orders"' in response.text and proxy.order.number in response.text
    sub.refresh_from_db()
    assert sub.paused_at is None


def test_amounts_and_dates_follow_the_managers_language(manager_client, w, settings):
    """In French, money reads `10,50 €` and the tab is « Abonnements »."""
    sub = subscribe(w)
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    text = manager_client.get(detail_url(sub)).text

    assert "10,50" in text and "€10.50" not in text
    assert ">Abonnements<" in text


def test_a_delivery_found_empty_can_be_tried_again_while_its_cycle_is_open(manager_client, w):
    sub = subscribe(w)
    type(w.apples).objects.filter(pk=w.apples.pk).update(on_hand=0)
    place_cycle(order_cycle=w.open)
    proxy = proxy_in(sub, w.open)
    assert proxy.state == ProxyOrderState.EMPTY
    text = manager_client.get(detail_url(sub)).text
    assert "Nothing was available for Week 2: no order was placed." in text
    assert text.count(">Try again</button>") == 1

    response = manager_client.post(delivery_url(sub, proxy, "retry"), follow=True)

    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING
    assert "The order for Week 2 is being placed again." in response.text
    assert "Asked to place the delivery of Week 2 again." in response.text
    # The upcoming cycle is not open yet: nothing to try again there.
    assert manager_client.post(
        delivery_url(sub, proxy_in(sub, w.upcoming), "retry"), follow=True
    ).text.count("is not open: this delivery can only be retried while it is open.")
