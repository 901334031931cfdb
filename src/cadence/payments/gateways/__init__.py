"""Payment gateways: the remote providers a payment of a confirmed order is taken through.

`gateway_for(kind)` returns the gateway of a payment method's kind, or None for a kind no
provider takes (manual: collected by hand). A gateway only sends (see `base`); the payment
services prepare its charges and record what it answered.
"""

from __future__ import annotations

from cadence.payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PaymentGateway,
    PreparedCharge,
)

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "PaymentGateway",
    "PreparedCharge",
    "gateway_for",
]


def gateway_for(kind: str) -> PaymentGateway | None:
    if kind == "stripe":
        from cadence.payments.gateways.stripe import StripeGateway

        return StripeGateway()
    return None
