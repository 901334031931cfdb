"""A payment provider scripted by the tests (a boundary, like the SMTP server), put in place of
the gateway that takes card payments."""

from __future__ import annotations

from django.conf import settings

from cadence.payments import services as payments_services
from cadence.payments.gateways import ChargeResult, PreparedCharge


class ScriptedGateway:
    """Answers each charge with the next scripted result and records the requests it got.
    It charges without a saved card (the buyers of the tests' worlds have none)."""

    needs_saved_card = False

    def __init__(self, *results: ChargeResult) -> None:
        self.results = list(results)
        self.requests: list = []

    def send(self, prepared: PreparedCharge) -> ChargeResult:
        self.requests.append(prepared.request)
        return self.results.pop(0)


def use_gateway(monkeypatch, gateway, *, concurrency: int | None = 1) -> None:
    """Card payments (Stripe methods) go to `gateway`; manual ones to none, as in production.
    With the default `concurrency=1` the charges are sent one at a time, in proxy order
    order, so that a `ScriptedGateway` gives its answers in that order."""
    monkeypatch.setattr(
        payments_services,
        "gateway_for",
        lambda kind: gateway if kind == "stripe" else None,
    )
    if concurrency is not None:
        monkeypatch.setattr(settings, "STRIPE_CONCURRENCY", concurrency, raising=False)
