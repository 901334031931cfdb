"""The buyer's API (/api/v1/me/…) with a buyer's own token, against localstripe."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cadence.api.models import ApiToken
from cadence.orders.models import OrderState, PaymentState
from cadence.payments.models import ChargeConsent, SavedCard
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from tests.support import factories
from tests.support.stripe import card_payment_method, stripe_world

pytestmark = pytest.mark.django_db


class Buyer:
    def __init__(self, client, user):
        self.client, self.user = client, user
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)[1]}"}

    def get(self, path):
        return self.client.get(f"/api/v1/me{path}", **self.auth)

    def post(self, path, data=None):
        return self.client.post(
            f"/api/v1/me{path}", data or {}, content_type="application/json", **self.auth
        )

    def patch(self, path, data):
        return self.client.patch(
            f"/api/v1/me{path}", data, content_type="application/json", **self.auth
        )

    def delete(self, path):
        return self.client.delete(f"/api/v1/me{path}", **self.auth)


@pytest.fixture
def ann(client, localstripe):
    return Buyer(client, factories.user("ann@example.org"))


def test_without_a_token_the_buyer_api_answers_401(client, localstripe):
    """No token, no access."""
    assert client.get("/api/v1/me/cards").status_code == 401


def test_cards_save_list_default_delete(ann, localstripe):
    """POST saves (first card default), GET lists, /default switches, DELETE removes."""
    first = ann.post("/cards", {"stripe_payment_method_id": card_payment_method()})
    second = ann.post(
        "/cards", {"stripe_payment_method_id": card_payment_method("5555555555554444")}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["is_default"], second.json()["is_default"]) == (True, False)
    assert first.json()["last4"] == "4242"

    assert ann.post(f"/cards/{second.json()['id']}/default").json()["is_default"] is True
    listed = ann.get("/cards").json()
    assert [(c["last4"], c["is_default"]) for c in listed] == [("4242", False), ("4444", True)]

    assert ann.delete(f"/cards/{first.json()['id']}").status_code == 204
    assert [c["last4"] for c in ann.get("/cards").json()] == ["4444"]


@pytest.mark.parametrize("pm_id", ["nonsense", "pm_doesnotexist"])
def test_invalid_card_ids_answer_422(ann, pm_id):
    """An id that is not a card answers 422 on stripe_payment_method_id; nothing written."""
    response = ann.post("/cards", {"stripe_payment_method_id": pm_id})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["stripe_payment_method_id"]
    assert not SavedCard.objects.exists()


def test_another_buyers_card_is_404_and_cannot_be_saved(ann, client, localstripe):
    """A card of another buyer cannot be made default, deleted, or saved again."""
    bob = Buyer(client, factories.user("bob@example.org"))
    bobs = bob.post("/cards", {"stripe_payment_method_id": card_payment_method()}).json()

    assert ann.post(f"/cards/{bobs['id']}/default").status_code == 404
    assert ann.delete(f"/cards/{bobs['id']}").status_code == 404
    stolen = ann.post(
        "/cards", {"stripe_payment_method_id": SavedCard.objects.get().stripe_payment_method_id}
    )
    assert stolen.status_code == 422
    assert SavedCard.objects.get().user == bob.user


def test_shops_and_allow_charges(ann, localstripe):
    """GET /me/shops lists shops having the buyer; PATCH allow_charges is refused without a
    default card and stored with its text once there is one; a default-card change withdraws it."""
    shop = factories.shop("Ferme du Val")
    factories.customer(shop, "ANN@example.org")
    factories.customer(factories.shop("Elsewhere"), "someone@example.org")

    assert [(s["name"], s["allow_charges"]) for s in ann.get("/shops").json()] == [
        ("Ferme du Val", False)
    ]
    refused = ann.patch(f"/shops/{shop.pk}", {"allow_charges": True})
    assert refused.status_code == 422 and "allow_charges" in refused.json()["errors"]
    assert not ChargeConsent.objects.exists()

    ann.post("/cards", {"stripe_payment_method_id": card_payment_method()})
    allowed = ann.patch(f"/shops/{shop.pk}", {"allow_charges": True})
    assert allowed.status_code == 200 and allowed.json()["allow_charges"] is True
    consent = ChargeConsent.objects.get()
    assert consent.text == allowed.json()["consent_text"] and "Ferme du Val" in consent.text

    second = ann.post(
        "/cards", {"stripe_payment_method_id": card_payment_method("5555555555554444")}
    )
    ann.post(f"/cards/{second.json()['id']}/default")
    assert ann.get("/shops").json()[0]["allow_charges"] is False


def test_consent_for_a_shop_without_the_buyer_is_refused(ann, localstripe):
    """A shop whose customer list lacks the buyer (or no shop at all): 404 without the
    shop's name, nothing written."""
    ann.post("/cards", {"stripe_payment_method_id": card_payment_method()})
    stranger = factories.shop("Elsewhere")

    for shop_id in (stranger.pk, 999999):
        response = ann.patch(f"/shops/{shop_id}", {"allow_charges": True})
        assert response.status_code == 404
        assert response.json() == {"detail": "This shop does not have you as a customer."}
    assert not ChargeConsent.objects.exists()


def test_orders_lower_remove_cancel(client, localstripe):
    """Where the shop allows changes, the buyer lowers a quantity (stock comes back, totals
    follow), may not raise one, and cancels the order; another buyer sees none of it."""
    w = stripe_world(card="4242424242424242")
    w.shop.allow_order_changes = True
    w.shop.save()
    ann = Buyer(client, w.buyer)
    [line] = w.order.line_items.all()
    variant = line.variant

    listed = ann.get("/orders").json()
    assert listed["count"] == 1
    assert listed["items"][0]["changes_allowed_until"] is not None

    raised = ann.patch(
        f"/orders/{w.order.pk}", {"line_items": [{"variant_id": variant.pk, "quantity": 3}]}
    )
    assert raised.status_code == 422
    lowered = ann.patch(
        f"/orders/{w.order.pk}", {"line_items": [{"variant_id": variant.pk, "quantity": 1}]}
    )
    assert lowered.status_code == 200
    assert lowered.json()["line_items"][0]["quantity"] == 1
    assert lowered.json()["total"] == "6.55"  # 4.25 + 2.00 delivery + 0.30 card fee
    variant.refresh_from_db()
    assert variant.on_hand == 49
    assert w.order.payments.get(state=PaymentState.PENDING).amount == Decimal("6.55")

    mallory = Buyer(client, factories.user("mallory@example.org"))
    assert mallory.post(f"/orders/{w.order.pk}/cancel").status_code == 404
    assert mallory.get("/orders").json()["count"] == 0

    canceled = ann.post(f"/orders/{w.order.pk}/cancel")
    assert canceled.status_code == 200 and canceled.json()["state"] == OrderState.CANCELED
    assert ProxyOrder.objects.get().state == ProxyOrderState.CANCELED


def test_orders_of_a_shop_not_allowing_changes_are_read_only(client, localstripe):
    """403 when the shop does not allow changes."""
    w = stripe_world(card="4242424242424242")
    ann = Buyer(client, w.buyer)

    assert ann.get("/orders").json()["items"][0]["changes_allowed_until"] is None
    assert ann.post(f"/orders/{w.order.pk}/cancel").status_code == 403
    assert ann.post(f"/proxy-orders/{w.proxy.pk}/cancel").status_code == 403


def test_changes_after_the_cycle_closed_answer_409(client, localstripe):
    """Once the cycle has closed, changes answer 409."""
    w = stripe_world(card="4242424242424242")
    w.shop.allow_order_changes = True
    w.shop.save()
    w.cycle.closes_at = timezone.now() - timedelta(minutes=1)
    w.cycle.save()
    ann = Buyer(client, w.buyer)

    assert ann.post(f"/orders/{w.order.pk}/cancel").status_code == 409
    assert ann.post(f"/proxy-orders/{w.proxy.pk}/cancel").status_code == 409


def test_skip_and_resume_a_delivery(client, localstripe):
    """GET /me/subscriptions shows deliveries; the buyer skips and resumes one."""
    w = stripe_world(card="4242424242424242")
    w.shop.allow_order_changes = True
    w.shop.save()
    ann = Buyer(client, w.buyer)

    [subscription] = ann.get("/subscriptions").json()["items"]
    assert [d["id"] for d in subscription["deliveries"]] == [w.proxy.pk]

    skipped = ann.post(f"/proxy-orders/{w.proxy.pk}/cancel")
    assert skipped.status_code == 200 and skipped.json()["state"] == ProxyOrderState.CANCELED
    resumed = ann.post(f"/proxy-orders/{w.proxy.pk}/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == ProxyOrderState.PLACED
