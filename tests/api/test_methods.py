"""API: payment and shipping methods."""

from __future__ import annotations

from decimal import Decimal

from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from tests.support import factories as f


def test_create_and_list_shipping_methods(as_user):
    """POST shipping-methods answers 201 with the fee as a string; GET lists them."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    r = client.post(
        f"/enterprises/{shop.pk}/shipping-methods",
        {"name": "Pick-up", "description": "At the farm", "fee": "1.5", "requires_address": False},
    )
    assert r.status_code == 201, r.data
    assert r.data["fee"] == "1.50" and r.data["requires_address"] is False
    method = ShippingMethod.objects.get(pk=r.data["id"])
    assert (method.shop, method.fee) == (shop, Decimal("1.50"))
    assert client.get(f"/enterprises/{shop.pk}/shipping-methods").data["count"] == 1


def test_create_payment_method_validates(as_user):
    """Unknown kind, negative fee and a connected account on a manual method are 422."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    client = as_user(manager)
    path = f"/enterprises/{shop.pk}/payment-methods"
    r = client.post(path, {"name": "Card", "kind": "bitcoin"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["kind"]
    r = client.post(path, {"name": "Cash", "kind": "manual", "fee": "-1"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["fee"]
    r = client.post(path, {"name": "Cash", "kind": "manual", "stripe_account": "acct_1"})
    assert r.status_code == 422 and list(r.data["errors"]) == ["stripe_account"]
    assert not PaymentMethod.objects.exists()
    r = client.post(
        path,
        {
            "name": "Card",
            "kind": "stripe",
            "fee": "0.30",
            "fee_percent": "1.4",
            "stripe_account": "acct_9",
        },
    )
    assert r.status_code == 201, r.data
    assert (r.data["kind"], r.data["fee"], r.data["fee_percent"]) == ("stripe", "0.30", "1.4")
    assert PaymentMethod.objects.get(pk=r.data["id"]).stripe_account == "acct_9"


def test_patch_methods(as_user):
    """PATCH payment and shipping methods changes the fields sent; other shops' are 404."""
    manager = f.user()
    shop = f.shop(managers=[manager])
    pm, sm = f.payment_method(shop), f.shipping_method(shop)
    client = as_user(manager)
    r = client.patch(f"/payment-methods/{pm.pk}", {"fee": "0.50", "active": False})
    assert r.status_code == 200 and r.data["fee"] == "0.50" and r.data["active"] is False
    r = client.patch(f"/shipping-methods/{sm.pk}", {"name": "Van"})
    assert r.status_code == 200 and r.data["name"] == "Van"
    stranger = as_user(f.user())
    assert stranger.patch(f"/payment-methods/{pm.pk}", {"fee": "9"}).status_code == 404
    assert stranger.patch(f"/shipping-methods/{sm.pk}", {"fee": "9"}).status_code == 404
