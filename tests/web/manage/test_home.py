"""The manager's home: the list of their shops, a shop's setup checklist and its figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.support import factories

pytestmark = pytest.mark.django_db


def _complete_setup(shop):
    factories.payment_method(shop, kind="manual")
    factories.shipping_method(shop)
    factories.customer(shop, "ann@example.org")
    variant = factories.variant(shop, product_name="Carrots")
    soon = timezone.now() + timedelta(days=2)
    cycle = factories.order_cycle(shop, opens_at=soon, variants=[variant], name="Week 50")
    factories.schedule(shop, [cycle], name="Weekly")


def test_a_manager_of_one_shop_lands_on_it(manager_client, shop):
    response = manager_client.get("/manage/")
    assert response.status_code == 302
    assert response["Location"] == f"/manage/{shop.pk}/"


def test_a_manager_of_several_shops_picks_one(manager_client, manager, shop):
    factories.shop("Épicerie du Coin", managers=[manager])
    response = manager_client.get("/manage/")
    assert response.status_code == 200
    assert "Ferme du Val" in response.text and "Épicerie du Coin" in response.text


def test_a_buyer_has_no_manager_home(client):
    client.force_login(factories.user("buyer@example.org"))
    assert client.get("/manage/").status_code == 404


def test_a_new_shop_shows_every_step_to_do_with_its_page(manager_client, shop):
    shop.enable_subscriptions = False
    shop.save()

    response = manager_client.get(f"/manage/{shop.pk}/")

    assert response.status_code == 200
    assert response.text.count('data-done="false"') == 7
    for area in ("settings", "payment-methods", "shipping-methods", "customers", "products"):
        assert f'href="/manage/{shop.pk}/{area}/"' in response.text
    assert f'href="/manage/{shop.pk}/order-cycles/"' in response.text
    assert f'href="/manage/{shop.pk}/schedules/"' in response.text


def test_each_step_is_ticked_when_done(manager_client, shop):
    factories.payment_method(shop, kind="other")  # does not serve subscriptions
    factories.shipping_method(shop)

    response = manager_client.get(f"/manage/{shop.pk}/")

    # enabled (factory default) and the shipping method; the "other" payment method is not
    # enough.
    assert response.text.count('data-done="true"') == 2


def test_a_schedule_of_closed_cycles_does_not_count(manager_client, shop):
    _complete_setup(shop)
    past = timezone.now() - timedelta(days=30)
    shop.order_cycles.update(opens_at=past, closes_at=past + timedelta(days=1))

    response = manager_client.get(f"/manage/{shop.pk}/")

    assert response.text.count('data-done="false"') == 2  # the order cycle and the schedule


def test_a_complete_setup_shows_the_shops_figures(manager_client, shop):
    _complete_setup(shop)

    response = manager_client.get(f"/manage/{shop.pk}/")

    assert 'data-done="false"' not in response.text
    assert "Active subscriptions" in response.text
    assert "Week 50" in response.text  # the next cycle to open


def test_the_home_is_in_french_with_french_dates(manager_client, shop):
    _complete_setup(shop)
    cycle = shop.order_cycles.get()
    cycle.opens_at = datetime(2030, 12, 2, 17, 0, tzinfo=UTC)
    cycle.closes_at = cycle.opens_at + timedelta(days=3)
    cycle.save()

    response = manager_client.get(f"/manage/{shop.pk}/", HTTP_ACCEPT_LANGUAGE="fr")

    assert "Abonnements actifs" in response.text
    assert "2 déc. 2030 18:00" in response.text  # Europe/Paris, French order


def test_outsiders_see_no_shop_page(shop, assert_hidden):
    assert_hidden(f"/manage/{shop.pk}/")
    assert_hidden(f"/manage/{shop.pk}/settings/")
    assert_hidden(f"/manage/{shop.pk}/settings/", method="post", data={"name": "Taken"})


def test_the_shop_switcher_goes_to_the_same_area_of_the_other_shop(manager_client, manager, shop):
    other = factories.shop("Épicerie du Coin", managers=[manager])
    response = manager_client.get(f"/manage/switch/?shop={other.pk}&area=customers")
    assert response["Location"] == f"/manage/{other.pk}/customers/"


def test_a_producers_product_the_shop_may_sell_ticks_the_product_step(manager_client, shop):
    """A hub that only resells its producers' goods has its product step done."""
    farm = factories.producer("Ferme des Monts", supplies=[shop])
    factories.variant(farm, product_name="Tomme")

    response = manager_client.get(f"/manage/{shop.pk}/")

    # Subscriptions enabled (the fixture's shop) and the product; nothing else is set up.
    assert response.text.count('data-done="true"') == 2
