"""Payment gateways: how a payment of a confirmed order is taken.

`gateway_for(method)` returns the gateway of a payment method's kind. Confirmation calls
`charge()` outside any database transaction and records the result in its own transaction;
a gateway that also offers `prepare`/`send`/`settle` (`PoolableGateway`, Stripe's) has its
`send` run from a pool of threads, many charges at once (see `base`).
"""

from __future__ import annotations

from cadence.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PaymentGateway,
    PoolableGateway,
    PreparedCharge,
)
from cadence.payments.gateways.manual import ManualGateway

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "PaymentGateway",
    "PoolableGateway",
    "PreparedCharge",
    "gateway_for",
]


def gateway_for(kind: str) -> PaymentGateway:
    if kind == "stripe":
        from cadence.payments.gateways.stripe import StripeGateway

        return StripeGateway()
    return ManualGateway()
