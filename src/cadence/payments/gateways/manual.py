"""Manual payments (cash, cheque, bank transfer): recorded as pending, collected by hand."""

from __future__ import annotations

from cadence.payments.gateways.base import ChargeRequest, ChargeResult, ChargeStatus


class ManualGateway:
    def charge(self, request: ChargeRequest) -> ChargeResult:
        return ChargeResult(status=ChargeStatus.PENDING)
