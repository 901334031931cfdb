"""The gateway interface confirmation talks to."""

from __future__ import annotations

import enum
from dataclasses import dataclass
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


class PaymentGateway(Protocol):
    def charge(self, request: ChargeRequest) -> ChargeResult: ...
