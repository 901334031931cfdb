"""The demo data set: what `cadence demo` promises, that loading it twice changes nothing,
and that a restart weeks later still finds a shop ready to use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from cadence import demo
from cadence.api.models import ApiToken
from cadence.catalog.models import Product, Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import ProxyOrder, Subscription
from cadence.subscriptions.setup import setup_checklists

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 26, 10, 0, tzinfo=UTC)  # a Thursday morning, days before a DST change


def _status(subscription: Subscription, now: datetime) -> str:
    # The documented derivation (domain.md, Subscription), first match wins.
    if subscription.canceled_at:
        return "canceled"
    if subscription.paused_at:
        return "paused"
    if subscription.begins_at > now:
        return "pending"
    if subscription.ends_at and subscription.ends_at <= now:
        return "ended"
    return "active"


def test_demo_load_creates_the_advertised_shop():
    """One French hub with subscriptions on and two producers supplying it, 15 products (one
    of them the hub's own box), 20 customers, delivery and pick-up, cash and Stripe payment
    methods, the three logins."""
    result = demo.demo_load(now=NOW)

    hub = result.hub
    assert result.created is True
    assert Enterprise.objects.filter(is_shop=True).get() == hub
    assert hub.enable_subscriptions and hub.timezone == "Europe/Paris" and hub.currency == "EUR"
    assert hub.language == "fr"
    assert hub.contact_email
    producers = Enterprise.objects.filter(is_producer=True)
    assert producers.count() == 2
    assert set(hub.suppliers.all()) == set(producers)
    assert Product.objects.count() == 15
    assert Product.objects.filter(supplier=hub).exists()
    assert Variant.objects.filter(on_demand=True).count() >= 2
    assert Customer.objects.filter(shop=hub).count() == 20
    assert Customer.objects.filter(shop=hub, user__isnull=False).count() >= 3
    assert set(ShippingMethod.objects.values_list("fee", flat=True)) >= {0}
    assert ShippingMethod.objects.filter(fee__gt=0, requires_address=True).exists()
    assert set(PaymentMethod.objects.values_list("kind", flat=True)) == {"manual", "stripe"}
    user_model = get_user_model()
    for login in demo.DEMO_LOGINS:
        assert user_model.objects.get(username=login.email).check_password(login.password)
    assert user_model.objects.get(username=demo.STAFF_EMAIL).is_staff
    assert hub.managers.filter(username=demo.MANAGER_EMAIL).exists()
    assert Customer.objects.filter(email=demo.BUYER_EMAIL, user__isnull=False).exists()


def test_demo_data_is_french():
    """The shop is in Lyon: its products, units, methods, schedules and cycles are named in
    French, most customers read French, and the cycles are named after their delivery week."""
    demo.demo_load(now=NOW)

    names = {v.full_name for v in Variant.objects.select_related("product")}
    assert {"Carottes - 1 kg", "Poireaux - botte de 3", "Œufs fermiers - boîte de 6"} <= names
    assert set(ShippingMethod.objects.values_list("name", flat=True)) == {
        "Retrait à la Ruche",
        "Livraison à domicile",
    }
    assert set(PaymentMethod.objects.values_list("name", flat=True)) == {
        "Espèces ou chèque",
        "Carte bancaire (Stripe)",
    }
    assert set(Schedule.objects.values_list("name", flat=True)) == {"Hebdomadaire", "Quinzaine"}
    languages = list(Customer.objects.values_list("language", flat=True))
    assert languages.count("fr") > len(languages) / 2
    assert Customer.objects.get(email=demo.BUYER_EMAIL).language == "fr"
    # NOW is Thursday 26 March 2026 10:00 UTC: the open cycle closes that evening and
    # delivers on Saturday 28, in the week of Monday 23 March.
    open_cycle = OrderCycle.objects.get(opens_at__lte=NOW, closes_at__gt=NOW)
    assert open_cycle.name == "Semaine du 23 mars"


def test_cycle_names_follow_french_usage():
    """A cycle is named after the Monday of its delivery week (it closes on Thursday and
    delivers on Saturday); months are spelled out in French and the first is written "1er"."""
    assert demo.cycle_name(datetime(2026, 11, 26, 17, 0, tzinfo=UTC)) == "Semaine du 23 novembre"
    assert demo.cycle_name(datetime(2026, 12, 10, 17, 0, tzinfo=UTC)) == "Semaine du 7 décembre"
    assert demo.cycle_name(datetime(2027, 2, 4, 17, 0, tzinfo=UTC)) == "Semaine du 1er février"


def test_buyers_emails_are_written_in_their_language():
    """The replayed weeks' emails to French-speaking buyers are in French, in the outbox."""
    from cadence.notifications.models import Email

    demo.demo_load(now=NOW)

    email = Email.objects.filter(to=demo.BUYER_EMAIL, status="sent").first()
    assert email is not None and email.language == "fr"
    assert email.text.startswith("Bonjour Camille,")
    # French puts a no-break space before "€" and ":".
    text = email.text.replace("\xa0", " ").replace("\u202f", " ")
    assert "19,50 €" in text and "Livraison : Livraison à domicile" in text


def test_demo_cycles_surround_now_with_exactly_one_open():
    """Weekly and fortnightly schedules; cycles from two weeks back to six weeks ahead, of
    which exactly one is open at `now`."""
    demo.demo_load(now=NOW)

    cycles = list(OrderCycle.objects.order_by("opens_at"))
    open_now = [c for c in cycles if c.opens_at <= NOW < c.closes_at]
    assert len(open_now) == 1
    assert sum(c.closes_at <= NOW for c in cycles) == 2
    assert sum(c.opens_at > NOW for c in cycles) == 6
    weekly = Schedule.objects.get(name=demo.WEEKLY_NAME)
    fortnightly = Schedule.objects.get(name=demo.FORTNIGHTLY_NAME)
    assert weekly.order_cycles.count() == len(cycles)
    assert open_now[0] in fortnightly.order_cycles.all()
    assert fortnightly.order_cycles.count() == 5
    # Back to back: each cycle opens when the previous one closes.
    for previous, following in zip(cycles, cycles[1:], strict=False):
        assert following.opens_at == previous.closes_at


def test_demo_subscriptions_cover_every_status():
    """15 subscriptions on both schedules, each status present; the active ones have a
    proxy order in the open cycle, the canceled ones none left pending."""
    demo.demo_load(now=NOW)

    subscriptions = list(Subscription.objects.all())
    assert len(subscriptions) == 15
    statuses = [_status(s, NOW) for s in subscriptions]
    assert set(statuses) == {"active", "pending", "paused", "ended", "canceled"}
    assert {s.schedule.name for s in subscriptions} == {demo.WEEKLY_NAME, demo.FORTNIGHTLY_NAME}
    assert all(s.line_items.exists() for s in subscriptions)

    open_cycle = OrderCycle.objects.get(opens_at__lte=NOW, closes_at__gt=NOW)
    for subscription, status in zip(subscriptions, statuses, strict=True):
        if status == "active":
            assert ProxyOrder.objects.filter(
                subscription=subscription, order_cycle=open_cycle
            ).exists()
        if status == "canceled":
            assert not subscription.proxy_orders.filter(state="pending").exists()


def _row_counts() -> tuple[int, ...]:
    return (
        Enterprise.objects.count(),
        Product.objects.count(),
        Customer.objects.count(),
        Subscription.objects.count(),
        ProxyOrder.objects.count(),
        OrderCycle.objects.count(),
    )


def test_demo_load_twice_does_not_duplicate():
    """A second load finds the demo and creates nothing."""
    first = demo.demo_load(now=NOW)
    counts = _row_counts()

    second = demo.demo_load(now=NOW)

    assert second.created is False and second.hub == first.hub
    assert counts == _row_counts()


def test_demo_tokens_replace_only_the_previous_demo_tokens(client):
    """Each start prints a fresh token per login and revokes the one printed before; a token
    the user made themselves (on /account/) survives a reload and a restart and still opens
    the API."""
    from cadence.api.models import hash_token

    demo.demo_load(now=NOW)
    first = demo.demo_tokens()
    manager = get_user_model().objects.get(username=demo.MANAGER_EMAIL)
    _own, own_raw = ApiToken.issue(manager)

    demo.demo_load(now=NOW)
    second = demo.demo_tokens()

    assert set(first) == {login.email for login in demo.DEMO_LOGINS}
    assert all(raw.startswith(demo.DEMO_TOKEN_PREFIX) for raw in second.values())
    assert not set(first.values()) & set(second.values())
    assert not ApiToken.objects.filter(digest__in=[hash_token(t) for t in first.values()]).exists()
    assert ApiToken.objects.count() == 4
    for raw in (own_raw, second[demo.MANAGER_EMAIL]):
        response = client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200
        assert demo.HUB_NAME in [item["name"] for item in response.json()["items"]]


def test_the_demo_manager_lands_on_the_hub(client):
    """The manager manages one shop, the hub, so /manage/ opens its page straight away."""
    hub = demo.demo_load(now=NOW).hub
    manager = get_user_model().objects.get(username=demo.MANAGER_EMAIL)
    assert list(Enterprise.objects.filter(managers=manager, is_shop=True)) == [hub]

    client.force_login(manager)
    response = client.get("/manage/")

    assert response.status_code == 302
    assert response["Location"] == f"/manage/{hub.pk}/"


def test_the_setup_checklist_is_complete_after_loading():
    """The demo manager sees a shop fully set up, not the setup checklist."""
    hub = demo.demo_load(now=NOW).hub

    assert setup_checklists([hub], now=NOW)[hub.pk].complete


@pytest.mark.parametrize("weeks", [3, 10])
def test_a_restart_weeks_later_has_cycles_open_and_ahead(weeks):
    """Restarted weeks after it was loaded (the cycles then ahead used up, or all of them
    past), the demo creates the missing cycles: one open now and six to come, all in the
    weekly schedule and every other one in the fortnightly one, with deliveries for the
    active subscriptions. The checklist stays complete; a second catch-up adds nothing."""
    hub = demo.demo_load(now=NOW).hub
    later = NOW + timedelta(weeks=weeks, hours=3)

    lines = demo.demo_catch_up(now=later)

    cycles = list(OrderCycle.objects.filter(shop=hub).order_by("opens_at"))
    assert len([c for c in cycles if c.opens_at <= later < c.closes_at]) == 1
    assert sum(c.opens_at > later for c in cycles) == 6
    assert any(line.startswith("created order cycle Semaine du") for line in lines)
    weekly = Schedule.objects.get(name=demo.WEEKLY_NAME)
    fortnightly = Schedule.objects.get(name=demo.FORTNIGHTLY_NAME)
    upcoming = [c for c in cycles if c.closes_at > later]
    assert set(upcoming) <= set(weekly.order_cycles.all())
    in_fortnightly = set(fortnightly.order_cycles.all())
    assert [c in in_fortnightly for c in upcoming] in (
        [True, False] * 3 + [True],
        [False, True] * 3 + [False],
    )
    # Every other week, all along: two fortnightly cycles are never a week apart.
    paris = ZoneInfo(demo.TZ_NAME)
    dates = sorted(c.opens_at.astimezone(paris).date() for c in in_fortnightly)
    assert all((b - a).days % 14 == 0 for a, b in zip(dates, dates[1:], strict=False))
    active = Subscription.objects.filter(
        shop=hub, schedule=weekly, canceled_at__isnull=True, paused_at__isnull=True
    ).exclude(ends_at__lte=later)
    assert ProxyOrder.objects.filter(subscription__in=active, order_cycle=upcoming[-1]).exists()
    assert setup_checklists([hub], now=later)[hub.pk].complete

    counts = _row_counts()
    assert not any(line.startswith("created") for line in demo.demo_catch_up(now=later))
    assert counts == _row_counts()


def test_demo_replays_its_history_with_the_engine():
    """The past weeks are lived again by the real services: the two closed cycles have
    confirmed orders, the open one placed orders, and the outbox holds the buyers' and the
    shop's emails of those weeks."""
    from cadence.notifications.models import Email
    from cadence.orders.models import Order

    result = demo.demo_load(now=NOW)

    cycles = list(OrderCycle.objects.order_by("opens_at"))
    closed, open_cycle = cycles[:2], cycles[2]
    for cycle in closed:
        assert Order.objects.filter(order_cycle=cycle, state="confirmed").exists()
    assert Order.objects.filter(order_cycle=open_cycle, state="complete").exists()
    kinds = set(Email.objects.values_list("kind", flat=True))
    assert {"placement", "confirmation"} <= kinds
    assert any("placed" in line for line in result.history)
