"""What confirmation and the payment services exchange with a payment gateway.

A gateway wraps a remote payment provider's SDK and nothing else: `send(prepared)` makes the
network calls of one charge and answers a `ChargeResult`. It never touches the database, so
confirmation runs many sends at once from a pool of threads. Everything a charge needs from
our rows (the buyer's card, their consent, their language, whether the charge was already
made) is resolved beforehand by `payments.services.charges_prepare`, for a whole batch at
once, into a `PreparedCharge` of plain values; the outcome is recorded by the caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class ChargeStatus(enum.StrEnum):
    PENDING = "pending"  # nothing to take now (manual: collected by hand)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined, or no usable card: final for this order
    REQUIRES_ACTION = "requires_action"  # the buyer must authenticate (SCA)
    RETRY = "retry"  # the gateway could not be reached or answered 5xx: try again later


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: int
    method_kind: str  # the payment method's kind: which gateway, if any, takes it
    amount: Decimal
    currency: str
    user_id: int | None
    shop_id: int
    stripe_account: str
    description: str


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str = ""  # the gateway's id of the charge (PaymentIntent id)
    error: str = ""  # a message safe to show the buyer, already in their language
    client_secret: str = ""  # for completing authentication in the browser


@dataclass(frozen=True)
class PreparedCharge:
    """A charge ready to be sent: plain values only (no database rows), so that `send` can
    run on any thread."""

    request: ChargeRequest
    language: str  # the buyer's, for the messages of the outcome
    payment_created_at: datetime  # with the payment id, the charge's idempotency key
    payment_method_id: str = ""  # the buyer's default saved card at the provider
    customer_id: str = ""  # the buyer at the provider
    known_reference: str = ""  # a charge already made for this payment: look it up


class PaymentGateway(Protocol):
    # Charges the buyer's default saved card, with their consent to the shop: without both,
    # the charge fails without being sent.
    needs_saved_card: bool

    def send(self, prepared: PreparedCharge) -> ChargeResult: ...
