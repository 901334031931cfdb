"""The schedules pages: the list with its figures, create and edit with the two-list picker of
order cycles, delete with the in-use guard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cadence.cycles.models import OrderCycle, Schedule
from cadence.subscriptions.models import Subscription
from tests.support import factories

pytestmark = pytest.mark.django_db


def _url(shop, tail: str = "") -> str:
    return f"/manage/{shop.pk}/schedules/{tail}"


def _cycle(shop, name, *, opens_in_days: float, days: float = 3):
    opens = timezone.now() + timedelta(days=opens_in_days)
    return factories.order_cycle(
        shop, name=name, opens_at=opens, closes_at=opens + timedelta(days=days)
    )


def _error_block(html: str, field: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error block for {field}"
    return match.group(1)


def _list(html: str, list_id: str) -> set[int]:
    """The cycle ids in one of the picker's two lists."""
    match = re.search(rf'<ul class="picker-items" id="{list_id}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, list_id
    return set(map(int, re.findall(r'name="order_cycle_ids" value="(\d+)"', match.group(1))))


# --- The list ----------------------------------------------------------------------------------


def test_a_shop_without_cycles_is_sent_to_create_them_first(manager_client, shop):
    """The empty list explains what a schedule is; without any order cycle it links to
    creating one first."""
    response = manager_client.get(_url(shop))

    assert response.status_code == 200
    assert "is a named set of order cycles that subscriptions follow" in response.text
    assert "Create the order cycles first" in response.text
    assert f'href="/manage/{shop.pk}/order-cycles/new/"' in response.text


def test_a_shop_with_cycles_but_no_schedule_is_offered_to_create_one(manager_client, shop):
    """With cycles to group, the empty list links to creating a schedule."""
    _cycle(shop, "Week 49", opens_in_days=2)

    response = manager_client.get(_url(shop))

    assert "Create the order cycles first" not in response.text
    assert f'href="{_url(shop, "new/")}">Create a schedule' in response.text


def test_the_list_shows_cycles_next_opening_and_subscriptions(manager_client, shop):
    """Per schedule: how many cycles, the next one to open (on the shop's clock) and how many
    subscriptions use it (canceled ones aside)."""
    closed = _cycle(shop, "Week 40", opens_in_days=-40)
    later = factories.order_cycle(
        shop,
        name="Week 50",
        opens_at=datetime(2030, 12, 9, 17, 0, tzinfo=UTC),
        closes_at=datetime(2030, 12, 12, 17, 0, tzinfo=UTC),
    )
    sooner = factories.order_cycle(
        shop,
        name="Week 49",
        opens_at=datetime(2030, 12, 2, 17, 0, tzinfo=UTC),
        closes_at=datetime(2030, 12, 5, 17, 0, tzinfo=UTC),
    )
    weekly = factories.schedule(shop, [closed, later, sooner], name="Weekly")
    factories.schedule(shop, [closed], name="Old")
    customer = factories.customer(shop, "ann@example.org")
    factories.subscription(shop, customer, schedule=weekly)
    factories.subscription(shop, customer, schedule=weekly)
    factories.subscription(shop, customer, schedule=weekly, canceled_at=timezone.now())

    response = manager_client.get(_url(shop))

    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Weekly(?:(?!</tr>).)*</tr>", response.text, re.S)
    assert row, response.text
    assert '<td data-label="Order cycles">3</td>' in row.group(0)
    assert "Week 49 · 2 Dec 2030, 18:00" in row.group(0)
    assert '<td data-label="Subscriptions">2</td>' in row.group(0)
    old = re.search(r"<tr[^>]*>(?:(?!</tr>).)*>Old<(?:(?!</tr>).)*</tr>", response.text, re.S)
    assert "none planned" in old.group(0)
    assert "Times are in Europe/Paris." in response.text


def _bulk_schedules(shop, count: int, cycle, customer, shipping, payment) -> None:
    schedules = Schedule.objects.bulk_create(
        Schedule(shop=shop, name=f"Bulk {n:03}") for n in range(count)
    )
    Schedule.order_cycles.through.objects.bulk_create(
        Schedule.order_cycles.through(schedule=s, ordercycle=cycle) for s in schedules
    )
    Subscription.objects.bulk_create(
        Subscription(
            shop=shop,
            customer=customer,
            schedule=s,
            payment_method=payment,
            shipping_method=shipping,
            begins_at=timezone.now(),
            bill_address=factories.address(),
            ship_address=factories.address(),
        )
        for s in schedules
    )


def test_the_list_runs_as_many_queries_for_500_schedules_as_for_10(
    manager_client, shop, count_queries
):
    """Counts and the next cycle are subqueries: no query per row."""
    cycle = _cycle(shop, "Week 49", opens_in_days=2)
    customer = factories.customer(shop)
    shipping, payment = factories.shipping_method(shop), factories.payment_method(shop)
    _bulk_schedules(shop, 10, cycle, customer, shipping, payment)
    few = count_queries(manager_client, _url(shop))

    _bulk_schedules(shop, 490, cycle, customer, shipping, payment)
    many = count_queries(manager_client, _url(shop))

    assert many == few


# --- Create and edit ---------------------------------------------------------------------------


def test_the_picker_offers_only_open_and_upcoming_cycles(manager_client, shop):
    """A new schedule's "Available" list has the open and upcoming cycles, with their dates on
    the shop's clock; closed ones are not offered."""
    open_ = _cycle(shop, "Open now", opens_in_days=-1)
    upcoming = factories.order_cycle(
        shop,
        name="Week 49",
        opens_at=datetime(2030, 12, 2, 17, 0, tzinfo=UTC),
        closes_at=datetime(2030, 12, 5, 17, 0, tzinfo=UTC),
    )
    closed = _cycle(shop, "Closed", opens_in_days=-30)

    response = manager_client.get(_url(shop, "new/"))

    assert _list(response.text, "cycles-available") == {open_.pk, upcoming.pk}
    assert _list(response.text, "cycles-chosen") == set()
    assert closed.name not in response.text.split('id="cycle-picker"')[1]
    assert "2 Dec 2030, 18:00 to 5 Dec 2030, 18:00" in response.text


def test_creating_a_schedule_with_cycles(manager_client, shop):
    """The ticked cycles make the new schedule; the others stay out."""
    week49 = _cycle(shop, "Week 49", opens_in_days=2)
    week50 = _cycle(shop, "Week 50", opens_in_days=9)
    _cycle(shop, "Week 51", opens_in_days=16)

    response = manager_client.post(
        _url(shop, "new/"), {"name": "Weekly", "order_cycle_ids": [week49.pk, week50.pk]}
    )

    assert response.status_code == 302
    schedule = Schedule.objects.get(shop=shop)
    assert schedule.name == "Weekly"
    assert set(schedule.order_cycles.all()) == {week49, week50}
    assert "The schedule “Weekly” is created." in manager_client.get(response["Location"]).text


def test_editing_shows_the_schedules_cycles_ticked_and_changes_them(manager_client, shop):
    """The edit form lists the schedule's cycles ticked (a closed one too, as it is in it);
    saving replaces the set."""
    closed = _cycle(shop, "Week 40", opens_in_days=-40)
    week49 = _cycle(shop, "Week 49", opens_in_days=2)
    week50 = _cycle(shop, "Week 50", opens_in_days=9)
    schedule = factories.schedule(shop, [closed, week49], name="Weekly")

    page = manager_client.get(_url(shop, f"{schedule.pk}/")).text
    assert _list(page, "cycles-chosen") == {week49.pk}
    assert _list(page, "cycles-chosen-closed") == {closed.pk}
    assert "1 closed cycle" in page
    assert _list(page, "cycles-available") == {week50.pk}
    assert 'value="Weekly"' in page

    response = manager_client.post(
        _url(shop, f"{schedule.pk}/"),
        {"name": "Every week", "order_cycle_ids": [week49.pk, week50.pk]},
    )

    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.name == "Every week"
    assert set(schedule.order_cycles.all()) == {week49, week50}


def test_a_blank_name_is_the_services_message_and_keeps_the_ticks(manager_client, shop):
    """The service's message shows under the name; the ticked cycles stay ticked; nothing is
    created."""
    week49 = _cycle(shop, "Week 49", opens_in_days=2)

    response = manager_client.post(
        _url(shop, "new/"), {"name": " ", "order_cycle_ids": [week49.pk]}
    )

    assert response.status_code == 200
    assert "Name is required" in _error_block(response.text, "name")
    assert _list(response.text, "cycles-chosen") == {week49.pk}
    assert not Schedule.objects.exists()


def test_another_shops_cycle_is_refused_under_the_cycles(manager_client, shop):
    """A cycle id of another shop, posted by hand, gets the service's message under the cycles
    and names nothing of the other shop."""
    theirs = _cycle(factories.shop("Other"), "Their week", opens_in_days=2)

    response = manager_client.post(
        _url(shop, "new/"), {"name": "Weekly", "order_cycle_ids": [theirs.pk]}
    )

    errors = _error_block(response.text, "order_cycle_ids")
    assert f"Order cycle {theirs.pk} is not available to Ferme du Val" in errors
    assert "Their week" not in response.text
    assert not Schedule.objects.exists()


# --- Delete ------------------------------------------------------------------------------------


def test_an_unused_schedule_is_deleted_after_confirmation(manager_client, shop):
    """GET asks to confirm; POST deletes the schedule and keeps its cycles."""
    cycle = _cycle(shop, "Week 49", opens_in_days=2)
    schedule = factories.schedule(shop, [cycle], name="Weekly")

    confirm = manager_client.get(_url(shop, f"{schedule.pk}/delete/"))
    assert confirm.status_code == 200 and "Delete the schedule" in confirm.text

    response = manager_client.post(_url(shop, f"{schedule.pk}/delete/"))

    assert response.status_code == 302
    assert not Schedule.objects.filter(pk=schedule.pk).exists()
    assert OrderCycle.objects.filter(pk=cycle.pk).exists()
    assert "The schedule “Weekly” is deleted." in manager_client.get(_url(shop)).text


def test_a_schedule_used_by_a_subscription_is_kept_with_the_reason(manager_client, shop):
    """The in-use guard's message shows on the page and the schedule stays."""
    schedule = factories.schedule(shop, name="Weekly")
    factories.subscription(shop, factories.customer(shop), schedule=schedule)

    response = manager_client.post(_url(shop, f"{schedule.pk}/delete/"))

    assert response.status_code == 200
    assert "This schedule is used by 1 subscription and cannot be deleted." in response.text
    assert Schedule.objects.filter(pk=schedule.pk, deleted_at__isnull=True).exists()


# --- Language and access -----------------------------------------------------------------------


def test_the_pages_are_in_french_with_french_dates(manager_client, shop):
    """A French manager reads French words and dates, and the guard's message in French."""
    cycle = factories.order_cycle(
        shop,
        name="Semaine 49",
        opens_at=datetime(2030, 12, 2, 17, 0, tzinfo=UTC),
        closes_at=datetime(2030, 12, 5, 17, 0, tzinfo=UTC),
    )
    schedule = factories.schedule(shop, [cycle], name="Chaque semaine")
    factories.subscription(shop, factories.customer(shop), schedule=schedule)
    fr = {"HTTP_ACCEPT_LANGUAGE": "fr"}

    listing = manager_client.get(_url(shop), **fr).text
    form = manager_client.get(_url(shop, f"{schedule.pk}/"), **fr).text
    refused = manager_client.post(_url(shop, f"{schedule.pk}/delete/"), **fr).text

    assert "Rythmes d&#x27;abonnement" in listing and "Semaine 49 · 2 déc. 2030 18:00" in listing
    assert "Dans ce rythme" in form and "Disponibles" in form
    assert "du 2 déc. 2030 18:00 au 5 déc. 2030 18:00" in form
    assert "est utilisé par 1 abonnement et ne peut pas être supprimé" in refused


def test_outsiders_see_none_of_the_schedule_pages(shop, assert_hidden):
    """Every URL, GET and POST: sign-in page for anonymous visitors, 404 for a buyer or another
    shop's manager; nothing is written."""
    schedule = factories.schedule(shop, name="Weekly")
    for tail in ("", "new/", f"{schedule.pk}/", f"{schedule.pk}/delete/"):
        assert_hidden(_url(shop, tail))
    for tail in ("new/", f"{schedule.pk}/", f"{schedule.pk}/delete/"):
        assert_hidden(_url(shop, tail), method="post", data={"name": "Taken"})
    assert list(Schedule.objects.values_list("name", flat=True)) == ["Weekly"]


def test_another_shops_schedule_is_not_found_from_this_shop(manager_client, shop):
    """Another shop's schedule id under this shop's URL answers 404 and is left alone."""
    theirs = factories.schedule(factories.shop("Other"), name="Theirs")
    for tail in (f"{theirs.pk}/", f"{theirs.pk}/delete/"):
        assert manager_client.get(_url(shop, tail)).status_code == 404
        assert manager_client.post(_url(shop, tail), {"name": "Mine"}).status_code == 404
    assert Schedule.objects.filter(pk=theirs.pk, name="Theirs").exists()


def test_a_deleted_schedule_is_not_found(manager_client, shop):
    """A softly deleted schedule is neither listed nor editable."""
    schedule = factories.schedule(shop, name="Gone")
    Schedule.objects.filter(pk=schedule.pk).update(deleted_at=timezone.now())

    assert manager_client.get(_url(shop, f"{schedule.pk}/")).status_code == 404
    assert "Gone" not in manager_client.get(_url(shop)).text
