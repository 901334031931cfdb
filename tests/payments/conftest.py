"""A real fake Stripe for the payment tests: localstripe on a free local port.

The server is started once per test session (see `localstripe_server.py` for the one thing
added to it: Stripe's idempotency keys) and every test talks to it through the real `stripe`
SDK, pointed at it with `STRIPE_API_BASE`. When localstripe cannot start, the tests that need
it are skipped with the reason.
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
from pathlib import Path

import pytest

from cadence.payments.gateways import stripe as gateway

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
