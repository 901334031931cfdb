"""The gateway interface confirmation talks to.

A gateway answers `charge(request)`. One that talks to a remote service may also split a
charge in three, so that confirmation can send many charges at once from a pool of threads
while every database read and write stays on the calling thread:

1. `prepare(request)` reads what the charge needs from the database and returns either a
   `ChargeResult` (decided without the network: no card, nothing to take…) or a
   `PreparedCharge` of plain values;
2. `send(prepared)` makes the network calls only, never touching the database, so it may
   run on any thread;
3. `settle(request, result)` writes down what must be remembered at once (the remote id of
   the charge), back on the calling thread.

`charge(request)` is the three in a row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


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


@dataclass(frozen=True)
class PreparedCharge:
    """A charge ready to be sent: plain values only (no database rows), so that `send` can
    run on another thread."""

    request: ChargeRequest
    data: Any = None  # what the gateway's `send` needs, as plain values


@runtime_checkable
class PoolableGateway(Protocol):
    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def prepare(self, request: ChargeRequest) -> ChargeResult | PreparedCharge: ...

    def send(self, prepared: PreparedCharge) -> ChargeResult: ...

    def settle(self, request: ChargeRequest, result: ChargeResult) -> None: ...
