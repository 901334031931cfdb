"""The shop's settings page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _form(shop, **overrides):
    data = {
        "name": shop.name,
        "enable_subscriptions": "on",
        "allocation_policy": "fair_share",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "contact_email": "contact@ferme.example",
        "language": "fr",
        "send_subscription_emails": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_shows_the_current_settings(manager_client, shop):
    response = manager_client.get(f"/manage/{shop.pk}/settings/")
    assert response.status_code == 200
    assert 'value="Europe/Paris"' in response.text
    assert "First come, first served" in response.text and "Fair share" in response.text


def test_saving_changes_the_shop(manager_client, shop):
    response = manager_client.post(f"/manage/{shop.pk}/settings/", _form(shop))

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.allocation_policy == "fair_share"
    assert shop.language == "fr"
    assert shop.contact_email == "contact@ferme.example"
    assert shop.allow_order_changes is False
    assert "saved" in manager_client.get(response["Location"]).text


def test_an_unknown_time_zone_is_refused_next_to_its_field(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/settings/", _form(shop, timezone="Mars/Olympus", currency="EURO")
    )

    assert response.status_code == 200
    assert 'id="id_timezone_error"' in response.text
    assert "is not a known time zone" in response.text
    assert "must be a three-letter ISO 4217 code" in response.text
    shop.refresh_from_db()
    assert shop.timezone == "Europe/Paris" and shop.allocation_policy == "first_come"


def test_the_errors_are_in_french_for_a_french_manager(manager_client, shop):
    response = manager_client.post(
        f"/manage/{shop.pk}/settings/",
        _form(shop, timezone="Mars/Olympus"),
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert "Fuseau horaire" in response.text
