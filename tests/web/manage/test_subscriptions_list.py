"""The shop's subscriptions list in the back office: filters, search, sort, the columns a
manager chooses (kept per user), pages, the actions of each row, the empty state, who may see
it and what it costs in queries."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from cadence.web.models import TableColumns
from tests.support import factories
from tests.support.manage import detail_url, list_url, setup_shop, subscribe

pytestmark = pytest.mark.django_db


def bulk_subscriptions(w: SimpleNamespace, count: int, *, prefix: str = "bulk") -> None:
    """`count` subscriptions with one line each, written in bulk (many rows, fast)."""
    customers = [
        factories.customer(w.shop, f"{prefix}{i}@example.org", first_name=f"{prefix}{i}")
        for i in range(count)
    ]
    subs = Subscription.objects.bulk_create(
        [
            Subscription(
                shop=w.shop,
                customer=c,
                schedule=w.schedule,
                payment_method=w.cash,
                shipping_method=w.shipping,
                bill_address=factories.address(),
                ship_address=factories.address(),
                begins_at=w.now - timedelta(days=1),
            )
            for c in customers
        ]
    )
    SubscriptionLineItem.objects.bulk_create(
        [SubscriptionLineItem(subscription=s, variant=w.apples, quantity=1) for s in subs]
    )


def rows(response) -> list[str]:
    """The subscription page links of the list, in order."""
    import re

    return re.findall(r'<a href="(/manage/\d+/subscriptions/\d+/)"', response.text)


@pytest.fixture
def w(shop):
    return setup_shop(shop)


# --- what the list shows -------------------------------------------------------------------


def test_the_list_shows_each_subscription_with_its_customer_schedule_items_and_status(
    manager_client, w
):
    ann = factories.customer(w.shop, "ann@example.org", first_name="Ann", last_name="Lee")
    sub = subscribe(w, ann)

    response = manager_client.get(list_url(w.shop))

    assert response.status_code == 200
    text = response.text
    assert "Ann Lee" in text and "ann@example.org" in text
    assert "Weekly" in text
    assert "2 × Apples - 1 kg" in text
    assert 'class="status status-active">Active<' in text
    # The next delivery is the open cycle's (it closes first), with its name.
    assert "Week 2" in text
    assert rows(response) == [detail_url(sub)]
    # Actions of an active subscription: edit, pause, cancel (no unpause).
    assert f"{detail_url(sub)}edit/" in text
    assert f"{detail_url(sub)}pause/?next=" in text
    assert f"{detail_url(sub)}cancel/?next=" in text
    assert f"{detail_url(sub)}unpause/" not in text
    # The tab of the area is the current one.
    assert 'aria-current="page">Subscriptions<' in text


def test_a_paused_subscription_offers_unpause_and_no_next_delivery(manager_client, w):
    sub = subscribe(w)
    Subscription.objects.filter(pk=sub.pk).update(paused_at=w.now)

    text = manager_client.get(list_url(w.shop)).text

    assert f"{detail_url(sub)}unpause/?next=" in text
    assert f"{detail_url(sub)}pause/?next=" not in text
    assert ">Paused<" in text
    assert "Week 2" not in text


def test_the_new_subscription_button_goes_to_the_form(manager_client, w):
    text = manager_client.get(list_url(w.shop)).text

    assert f'href="/manage/{w.shop.pk}/subscriptions/new/"' in text
    assert "New subscription" in text


# --- filters, search, sort, pages ----------------------------------------------------------


def test_filters_by_status(manager_client, w):
    active = subscribe(w)
    paused = subscribe(w)
    canceled = subscribe(w)
    pending = subscribe(w, begins_at=w.now + timedelta(days=2))
    Subscription.objects.filter(pk=paused.pk).update(paused_at=w.now)
    Subscription.objects.filter(pk=canceled.pk).update(canceled_at=w.now)

    def listed(status):
        return rows(manager_client.get(list_url(w.shop), {"status": status}))

    assert listed("active") == [detail_url(active)]
    assert listed("paused") == [detail_url(paused)]
    assert listed("canceled") == [detail_url(canceled)]
    assert listed("pending") == [detail_url(pending)]
    assert listed("ended") == []
    assert len(listed("")) == 4


def test_an_unknown_status_shows_everything_with_the_filter_left_empty(manager_client, w):
    subscribe(w)

    response = manager_client.get(list_url(w.shop), {"status": "nonsense"})

    assert response.status_code == 200
    assert len(rows(response)) == 1


def test_filters_by_schedule(manager_client, w):
    in_weekly = subscribe(w)
    other = factories.schedule(w.shop, [w.open], name="Monthly")
    in_monthly = subscribe(w, schedule_id=other.pk)

    by_weekly = rows(manager_client.get(list_url(w.shop), {"schedule": w.schedule.pk}))
    by_monthly = rows(manager_client.get(list_url(w.shop), {"schedule": other.pk}))

    assert by_weekly == [detail_url(in_weekly)]
    assert by_monthly == [detail_url(in_monthly)]


def test_search_by_customer_email_or_name(manager_client, w):
    ann = subscribe(
        w, factories.customer(w.shop, "ann@example.org", first_name="Ann", last_name="Lee")
    )
    bob = subscribe(
        w, factories.customer(w.shop, "bob@farm.test", first_name="Bob", last_name="Marsh")
    )

    def found(q):
        return rows(manager_client.get(list_url(w.shop), {"q": q}))

    assert found("farm.test") == [detail_url(bob)]
    assert found("lee") == [detail_url(ann)]
    assert found("bob") == [detail_url(bob)]
    response = manager_client.get(list_url(w.shop), {"q": "nobody"})
    assert rows(response) == []
    assert "No subscription matches these filters." in response.text
    assert "Show all subscriptions" in response.text


@pytest.mark.parametrize(
    "sort",
    [
        "customer",
        "schedule",
        "items",
        "next_delivery",
        "status",
        "begins",
        "ends",
        "payment_method",
        "shipping_method",
    ],
)
def test_every_column_sorts_both_ways(manager_client, w, sort):
    TableColumns.objects.remember(manager_client_user(manager_client), "subscriptions", [])
    a = subscribe(
        w,
        factories.customer(w.shop, "a@example.org", first_name="Ann", last_name="Adams"),
        line_items=[{"variant_id": w.apples.pk, "quantity": 1}],
        begins_at=w.now - timedelta(days=40),
        ends_at=w.now + timedelta(days=100),
    )
    b = subscribe(
        w,
        factories.customer(w.shop, "b@example.org", first_name="Bea", last_name="Brown"),
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 1},
            {"variant_id": w.pears.pk, "quantity": 1},
        ],
        schedule_id=factories.schedule(w.shop, [w.upcoming], name="Zucchini round").pk,
        payment_method_id=factories.payment_method(w.shop, name="Transfer").pk,
        shipping_method_id=factories.shipping_method(w.shop, name="Pick-up").pk,
        begins_at=w.now - timedelta(days=20),
        ends_at=w.now + timedelta(days=200),
    )
    expected = {
        "customer": [a, b],
        "schedule": [a, b],  # "Weekly" < "Zucchini round"
        "items": [a, b],
        "next_delivery": [a, b],  # Week 2 closes before Week 3
        "status": [a, b],
        "begins": [a, b],
        "ends": [a, b],
        "payment_method": [a, b],  # "Cash" < "Transfer"
        "shipping_method": [a, b],  # "Home delivery" < "Pick-up"
    }[sort]
    if sort == "status":
        Subscription.objects.filter(pk=a.pk).update(paused_at=w.now)  # "active" < "paused"
        expected = [b, a]

    up = rows(manager_client.get(list_url(w.shop), {"sort": sort}))
    down = rows(manager_client.get(list_url(w.shop), {"sort": f"-{sort}"}))

    assert up == [detail_url(s) for s in expected]
    assert down == [detail_url(s) for s in reversed(expected)]


@pytest.mark.parametrize("sort", ["ends", "next_delivery"])
def test_a_subscription_without_the_value_sorts_last_both_ways(manager_client, w, sort):
    """No end date, or no delivery to come: after the others, whichever the direction, on
    SQLite as on PostgreSQL."""
    TableColumns.objects.remember(manager_client_user(manager_client), "subscriptions", [])
    line_items = [{"variant_id": w.apples.pk, "quantity": 1}]
    early = subscribe(
        w,
        factories.customer(w.shop, "a@example.org", last_name="Adams"),
        line_items=line_items,
        ends_at=w.now + timedelta(days=100),
    )
    late = subscribe(
        w,
        factories.customer(w.shop, "b@example.org", last_name="Brown"),
        line_items=line_items,
        ends_at=w.now + timedelta(days=200),
    )
    without = subscribe(
        w, factories.customer(w.shop, "c@example.org", last_name="Cole"), line_items=line_items
    )
    if sort == "next_delivery":  # every delivery to come skipped
        ProxyOrder.objects.filter(subscription=without).update(state=ProxyOrderState.CANCELED)

    up = rows(manager_client.get(list_url(w.shop), {"sort": sort}))
    down = rows(manager_client.get(list_url(w.shop), {"sort": f"-{sort}"}))

    assert up[-1] == down[-1] == detail_url(without)
    if sort == "ends":
        assert up[:2] == [detail_url(early), detail_url(late)]
        assert down[:2] == [detail_url(late), detail_url(early)]


def manager_client_user(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_pages_of_25(manager_client, w):
    bulk_subscriptions(w, 30)

    first = manager_client.get(list_url(w.shop))
    second = manager_client.get(list_url(w.shop), {"page": 2})

    assert len(rows(first)) == 25 and len(rows(second)) == 5
    assert "Page 1 of 2 (30 in all)" in first.text
    assert not set(rows(first)) & set(rows(second))


# --- columns -------------------------------------------------------------------------------


def test_payment_shipping_and_end_columns_are_hidden_until_chosen(manager_client, w):
    subscribe(w)

    text = manager_client.get(list_url(w.shop)).text

    assert ">Schedule</a>" in text
    assert ">Payment method</a>" not in text and ">Shipping method</a>" not in text


def test_the_columns_chosen_are_kept_for_that_user_only(manager_client, w, manager):
    subscribe(w)
    colleague = factories.user("colleague@example.org")
    w.shop.managers.add(colleague)

    response = manager_client.post(
        f"/manage/{w.shop.pk}/subscriptions/columns/",
        {"show": ["payment_method", "status"], "next": list_url(w.shop) + "?sort=status"},
    )

    assert response.status_code == 302
    assert response["Location"] == list_url(w.shop) + "?sort=status"
    text = manager_client.get(list_url(w.shop)).text
    assert ">Payment method</a>" in text and ">Status" in text
    assert ">Schedule</a>" not in text and ">Next delivery</a>" not in text
    stored = TableColumns.objects.get(user=manager, table="subscriptions")
    assert "schedule" in stored.hidden and "payment_method" not in stored.hidden
    # Another manager of the same shop keeps the default columns.
    from django.test import Client

    other = Client()
    other.force_login(colleague)
    other_text = other.get(list_url(w.shop)).text
    assert ">Schedule</a>" in other_text and ">Payment method</a>" not in other_text


def test_the_column_chooser_goes_back_to_this_shop_only(manager_client, w):
    response = manager_client.post(
        f"/manage/{w.shop.pk}/subscriptions/columns/",
        {"show": ["status"], "next": "https://evil.example/"},
    )

    assert response["Location"] == list_url(w.shop)


# --- empty states --------------------------------------------------------------------------


def test_empty_list_of_a_shop_not_set_up_lists_what_is_left(manager_client, shop):
    response = manager_client.get(list_url(shop))

    text = response.text
    assert response.status_code == 200
    assert "Before the first subscription" in text
    assert f'href="/manage/{shop.pk}/"' in text  # the overview's checklist
    assert f'href="/manage/{shop.pk}/customers/"' in text  # a step left to do
    assert "Columns" not in text


def test_empty_list_of_a_shop_set_up_invites_to_create_one(manager_client, w):
    factories.customer(w.shop)

    text = manager_client.get(list_url(w.shop)).text

    assert "Before the first subscription" not in text
    assert "No subscriptions yet. Create the first one" in text


def test_a_shop_with_subscriptions_turned_off_says_so(manager_client, w):
    subscribe(w)
    w.shop.enable_subscriptions = False
    w.shop.save()

    text = manager_client.get(list_url(w.shop)).text

    assert "Subscriptions are turned off for this shop" in text


# --- who may see it ------------------------------------------------------------------------


def test_outsiders_see_nothing(w, assert_hidden):
    sub = subscribe(w)

    assert_hidden(list_url(w.shop))
    assert_hidden(f"/manage/{w.shop.pk}/subscriptions/columns/", method="post")
    other_shop_sub = factories.shop("Elsewhere")
    assert other_shop_sub  # a shop the manager does not manage
    assert_hidden(detail_url(sub))


def test_another_shops_subscriptions_are_not_listed(manager_client, w):
    other = setup_shop(factories.shop("Elsewhere"))
    foreign = subscribe(other)
    mine = subscribe(w)

    assert rows(manager_client.get(list_url(w.shop))) == [detail_url(mine)]
    assert manager_client.get(detail_url(foreign)).status_code == 404
    # Even through this shop's address.
    assert manager_client.get(f"/manage/{w.shop.pk}/subscriptions/{foreign.pk}/").status_code == 404


# --- queries -------------------------------------------------------------------------------


def test_the_list_runs_as_many_queries_for_500_subscriptions_as_for_10(
    manager_client, w, count_queries
):
    """Next delivery, item counts and statuses come with the rows: no query per row."""
    TableColumns.objects.remember(manager_client_user(manager_client), "subscriptions", [])
    bulk_subscriptions(w, 10, prefix="a")
    url = list_url(w.shop) + "?sort=next_delivery&q=example"
    at_10 = count_queries(manager_client, url)

    bulk_subscriptions(w, 490, prefix="b")

    assert count_queries(manager_client, url) == at_10
