"""A real fake Stripe for the payment tests: localstripe on a free local port, and the
builders of the tests that charge through it.

The server is started once per test session (see `localstripe_server.py` for the one thing
added to it: Stripe's idempotency keys) and every test talks to it through the real `stripe`
SDK, pointed at it with `STRIPE_API_BASE`. When localstripe cannot start, the tests that need
it are skipped with the reason. The fixtures are registered for the whole suite in
tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from cadence.payments import cards
from cadence.payments.gateways import ChargeRequest
from cadence.payments.gateways import stripe as gateway
from cadence.payments.models import Payment
from cadence.payments.services import payment_charge
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.lifecycle import subscription_create
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories

SECRET_KEY = "sk_test_cadence"
PUBLISHABLE_KEY = "pk_test_cadence"
WEBHOOK_SECRET = "whsec_test_cadence"


@dataclass(frozen=True)
class LocalStripe:
    base: str

    def request(self, method: str, path: str, data: dict | None = None, key: str = SECRET_KEY):
        """A raw call to the fake (for what Stripe.js does in a browser, and for inspection)."""
        body = json.dumps(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {key}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def payment_intents(self, *, payment) -> list[dict]:
        """The PaymentIntents made for one of our payment rows."""
        key = gateway.idempotency_key("payment", payment.pk, payment.created_at)
        items = self.request("GET", "/v1/payment_intents?limit=100")["data"]
        return [pi for pi in items if pi["metadata"].get("payment_key") == key]

    def events(self, type: str) -> list[dict]:
        return self.request("GET", f"/v1/events?type={type}&limit=100")["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_server():
    port = _free_port()
    script = Path(__file__).with_name("localstripe_server.py")
    try:
        proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"localstripe could not start: {exc}")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/js.stripe.com/v3/", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                print(f"localstripe did not start: {err}")
                pytest.skip(f"localstripe did not start on port {port}: {err}")
            time.sleep(0.1)
    yield LocalStripe(base=base)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


@pytest.fixture
def localstripe(localstripe_server, settings):
    """Point the SDK, the card page and the webhook check at the local fake."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_server.base
    settings.STRIPE_JS_URL = f"{localstripe_server.base}/js.stripe.com/v3/"
    return localstripe_server


def signed(payload: dict, *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, signed as Stripe signs them."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, f"t={timestamp},v1={digest.hexdigest()}"


def card_payment_method(number: str = "4242424242424242") -> str:
    """A card PaymentMethod as Stripe.js makes it in the buyer's browser."""
    pm = gateway.client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return pm.id


def card_set_up_in_browser(user, number: str) -> tuple[str, str]:
    """What the card page does: a SetupIntent confirmed by Stripe.js, the buyer completing 3-D
    Secure when the card asks for it. Returns (payment method id, setup intent id)."""
    from cadence.payments.cards import card_setup_start

    setup = card_setup_start(user=user)
    pm_id = card_payment_method(number)
    confirmed = gateway.setup_intent_confirm(setup_intent_id=setup.id, payment_method_id=pm_id)
    if confirmed.status == "requires_action":
        # localstripe's 3-D Secure: confirming again is the buyer's "Complete authentication".
        gateway.client().v1.setup_intents.confirm(setup.id)
    return pm_id, setup.id


def buyer_with_card(shop, email: str, card: str, *, via_page: bool = False, **customer_fields):
    """A customer of `shop` with a user account, the card `card` saved as default (through
    the card page's SetupIntent when `via_page`) and charges allowed for the shop."""
    buyer = factories.user(email)
    customer = factories.customer(shop, email, user=buyer, **customer_fields)
    if via_page:
        pm_id, setup_id = card_set_up_in_browser(buyer, card)
        cards.card_save(user=buyer, stripe_payment_method_id=pm_id, setup_intent_id=setup_id)
    else:
        cards.card_save(user=buyer, stripe_payment_method_id=card_payment_method(card))
    cards.consent_set(user=buyer, shop=shop, allow=True)
    return customer


# A card that asks for 3-D Secure: buyers save it through the card page.
THREE_D_SECURE_CARD = "4000002500003155"


def stripe_shop(cards: list[str]) -> SimpleNamespace:
    """A shop charging by Stripe and, per card number, a buyer (the first is Ann,
    ann@example.org) with that card saved as their default (a 3-D Secure card through the card
    page) who allowed charges, and a subscription of two apples placed in the open cycle.
    `proxies` and `payments` are in the buyers' order."""
    now = timezone.now()
    shop = factories.shop("Ferme du Val")
    apples = factories.variant(shop, price="4.25", on_hand=50, product_name="Apples")
    cycle = factories.order_cycle(
        shop,
        opens_at=now - timedelta(hours=2),
        closes_at=now + timedelta(hours=2),
        variants=[apples],
    )
    schedule = factories.schedule(shop, [cycle], name="Weekly")
    stripe_method = factories.payment_method(shop, kind="stripe", fee="0.30", name="Card")
    shipping = factories.shipping_method(shop, fee="2.00")
    customers = []
    for i, card in enumerate(cards):
        email, name = ("ann@example.org", "Ann") if i == 0 else (f"buyer{i}@example.org", "")
        customer = buyer_with_card(
            shop, email, card, via_page=card == THREE_D_SECURE_CARD, first_name=name
        )
        subscription_create(
            shop=shop,
            customer_id=customer.pk,
            schedule_id=schedule.pk,
            payment_method_id=stripe_method.pk,
            shipping_method_id=shipping.pk,
            begins_at=now - timedelta(days=1),
            line_items=[{"variant_id": apples.pk, "quantity": 2}],
            now=now,
        )
        customers.append(customer)
    place_cycle(order_cycle=cycle, now=now)
    proxies = list(
        ProxyOrder.objects.select_related("order").filter(order_cycle=cycle).order_by("pk")
    )
    assert [p.state for p in proxies] == [ProxyOrderState.PLACED] * len(cards)
    return SimpleNamespace(
        shop=shop,
        cycle=cycle,
        customers=customers,
        proxies=proxies,
        payments=[Payment.objects.get(order_id=p.order_id) for p in proxies],
        closed=cycle.closes_at + timedelta(minutes=1),
    )


def stripe_world(*, card: str) -> SimpleNamespace:
    """`stripe_shop` with one buyer, Ann, and her rows by name."""
    w = stripe_shop([card])
    (customer,), (proxy,), (payment,) = w.customers, w.proxies, w.payments
    return SimpleNamespace(
        shop=w.shop,
        cycle=w.cycle,
        buyer=customer.user,
        customer=customer,
        proxy=proxy,
        order=proxy.order,
        payment=payment,
        closed=w.closed,
    )


def confirm(w: SimpleNamespace):
    summary = confirm_cycle(order_cycle=w.cycle, now=w.closed)
    w.payment.refresh_from_db()
    w.order.refresh_from_db()
    w.proxy.refresh_from_db()
    return summary


def charge_as_confirmation_does(w: SimpleNamespace):
    """Step 2 of a confirmation (the charge), as the engine builds it, with no recording after
    it: what a process that died right after charging leaves behind."""
    return payment_charge(
        ChargeRequest(
            payment_id=w.payment.pk,
            method_kind="stripe",
            amount=w.order.total,
            currency=w.order.currency,
            user_id=w.order.user_id,
            shop_id=w.shop.pk,
            stripe_account="",
            description=f"{w.shop.name} #{w.order.number}",
        )
    )


# --- webhooks -----------------------------------------------------------------------------


def post(client, body: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post("/stripe/webhook", data=body, content_type="application/json", **headers)


def authenticated_event(localstripe, w, *, success: bool) -> dict:
    """Authenticate the waiting PaymentIntent in localstripe as Stripe.js would, and return
    the event localstripe recorded for its outcome."""
    [intent] = localstripe.payment_intents(payment=w.payment)
    outcome = "true" if success else "false"
    localstripe.request(
        "POST",
        f"/v1/payment_intents/{intent['id']}/_authenticate?success={outcome}",
        {"key": "pk_test_cadence", "client_secret": intent["client_secret"]},
        key="",
    )
    if not success:
        # localstripe sends no event for a failed authentication; Stripe sends this one.
        intent = localstripe.request("GET", f"/v1/payment_intents/{intent['id']}")
        return {
            "id": "evt_auth_failed_1",
            "type": "payment_intent.payment_failed",
            "data": {"object": intent},
        }
    [event] = [
        e
        for e in localstripe.events("payment_intent.succeeded")
        if e["data"]["object"]["id"] == intent["id"]
    ]
    return event
