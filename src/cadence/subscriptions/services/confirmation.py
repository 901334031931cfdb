"""Confirmation: when an order cycle closes, each placed order is finalised and paid.

Every closed cycle with placed, unconfirmed orders is confirmed, however long ago it closed
(the worker's catch-up finds them), so downtime never leaves a cycle unconfirmed.

Orders paid by hand (no gateway call) are confirmed in batches, one transaction per batch
(`_confirm_manual_batch`). Other orders one at a time, in three steps (never holding a
database lock across a payment call):
1. read the order and its pending payment (no lock);
2. ask the payment's gateway to charge the final total, outside any transaction; the
   gateway derives its idempotency key from our payment id, so asking twice (a retry, a
   crash after charging, two workers) never charges twice;
3. in one transaction: claim the proxy order with a guarded UPDATE placed -> confirmed
   (if another worker already did, stop: nothing else is written), confirm the order,
   record the payment outcome and queue the buyer's email.

So a crash leaves each order either confirmed with its payment recorded and its email
queued, or still `placed` and done again by the next run; never marked without being done.
A gateway that cannot be reached (`RETRY`) leaves the order to do at the next tick.

Decision on states: the proxy order becomes `confirmed` whenever its order is confirmed,
whatever happened to the payment; the payment's outcome lives in `Order.payment_state`
(and the payment row), and a payment failure's message is copied to the proxy order's
`reason`, so lists can show it without a join.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.cycles.models import OrderCycle
from cadence.notifications.models import Email
from cadence.notifications.services import email_build, email_queue, emails_queue_bulk
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.payments.gateways import ChargeRequest, ChargeResult, ChargeStatus, gateway_for
from cadence.payments.models import Payment, PaymentMethod, PaymentMethodKind
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.placement import order_email_reference

logger = logging.getLogger("cadence.confirmation")

BATCH_SIZE = 200

_PAYMENT_STATE = {
    ChargeStatus.PENDING: PaymentState.PENDING,
    ChargeStatus.SUCCEEDED: PaymentState.PAID,
    ChargeStatus.FAILED: PaymentState.FAILED,
    ChargeStatus.REQUIRES_ACTION: PaymentState.REQUIRES_AUTHORIZATION,
}
_EMAIL_KIND = {
    ChargeStatus.PENDING: "confirmation",
    ChargeStatus.SUCCEEDED: "confirmation",
    ChargeStatus.FAILED: "failed_payment",
    ChargeStatus.REQUIRES_ACTION: "authentication",
}


@dataclass
class ConfirmationSummary:
    """What a confirmation run did, by proxy order id."""

    confirmed: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    payment_failed: dict[int, str] = field(default_factory=dict)
    requires_action: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # gateway unreachable: next tick
    errors: dict[int, str] = field(default_factory=dict)
    skipped: int = 0  # confirmed meanwhile by another worker

    def merge(self, other: ConfirmationSummary) -> ConfirmationSummary:
        self.confirmed += other.confirmed
        self.paid += other.paid
        self.payment_failed.update(other.payment_failed)
        self.requires_action += other.requires_action
        self.retry += other.retry
        self.errors.update(other.errors)
        self.skipped += other.skipped
        return self

    @property
    def did_something(self) -> bool:
        return bool(self.confirmed or self.retry or self.errors)

    def describe(self) -> str:
        return (
            f"confirmed {len(self.confirmed)} (paid {len(self.paid)}, payment failed "
            f"{len(self.payment_failed)}, awaiting authentication {len(self.requires_action)}), "
            f"to retry {len(self.retry)}, errors {len(self.errors)}"
        )


def proxy_orders_to_confirm(*, order_cycle: OrderCycle):
    """Placed proxy orders of the cycle whose order is still placed (not canceled).

    The subscription's pause or cancellation is deliberately ignored: an order the manager
    chose to keep when pausing or canceling is still confirmed and charged."""
    return ProxyOrder.objects.filter(
        order_cycle=order_cycle, state=ProxyOrderState.PLACED, order__state=OrderState.COMPLETE
    )


def authentication_url(payment_id: int) -> str:
    return f"{settings.BASE_URL}/pay/authenticate/{payment_id}/"


def _charge(order: Order, payment: Payment | None) -> ChargeResult:
    """Step 2, outside any transaction. Exceptions from a gateway mean 'try again later'."""
    if payment is None:
        # Nothing left to take (paid or voided by hand): confirm with the state it has.
        return ChargeResult(status=ChargeStatus.PENDING)
    if order.total <= Decimal("0"):
        return ChargeResult(status=ChargeStatus.SUCCEEDED)
    request = ChargeRequest(
        payment_id=payment.pk,
        amount=order.total,
        currency=order.currency,
        user_id=order.user_id,
        shop_id=order.shop_id,
        stripe_account=payment.method.stripe_account,
        description=f"{order.shop.name} #{order.number}",
    )
    try:
        return gateway_for(payment.method.kind).charge(request)
    except Exception as exc:  # network trouble in a gateway that did not map it itself
        logger.exception("charging payment %s failed", payment.pk)
        return ChargeResult(status=ChargeStatus.RETRY, error=str(exc)[:500])


def _record(
    *, proxy: ProxyOrder, order: Order, payment: Payment | None, result: ChargeResult, now: datetime
) -> bool:
    """Step 3: one transaction. False when another worker had already confirmed it."""
    with transaction.atomic():
        qs = ProxyOrder.objects.filter(pk=proxy.pk, state=ProxyOrderState.PLACED)
        if connection.features.has_select_for_update:
            # Serialise with a concurrent skip/cancel of the same proxy order.
            qs = qs.select_for_update(of=("self",))
        if not qs.exists():
            return False
        if not Order.objects.filter(pk=order.pk, state=OrderState.COMPLETE).exists():
            return False  # canceled between steps 1 and 3
        claimed = ProxyOrder.objects.filter(pk=proxy.pk, state=ProxyOrderState.PLACED).update(
            state=ProxyOrderState.CONFIRMED,
            confirmed_at=now,
            reason=result.error if result.status == ChargeStatus.FAILED else "",
        )
        if not claimed:
            return False
        if payment is not None:
            payment_state = _PAYMENT_STATE[result.status]
            Payment.objects.filter(pk=payment.pk).update(
                amount=order.total,
                state=payment_state,
                error=result.error if result.status == ChargeStatus.FAILED else "",
                gateway_reference=result.reference or payment.gateway_reference,
                updated_at=now,
            )
        else:
            payment_state = order.payment_state
        Order.objects.filter(pk=order.pk, state=OrderState.COMPLETE).update(
            state=OrderState.CONFIRMED,
            confirmed_at=now,
            payment_state=payment_state,
            updated_at=now,
        )
        order.state, order.confirmed_at, order.payment_state = (
            OrderState.CONFIRMED,
            now,
            payment_state,
        )
        _queue_buyer_email(order=order, proxy=proxy, payment=payment, result=result)
    return True


def _queue_buyer_email(
    *, order: Order, proxy: ProxyOrder, payment: Payment | None, result: ChargeResult
) -> None:
    extra = {"error": result.error}
    if result.status == ChargeStatus.REQUIRES_ACTION and payment is not None:
        extra["auth_url"] = authentication_url(payment.pk)
    email_queue(
        to=order.email or order.customer.email,
        kind=_EMAIL_KIND[result.status],
        context=order_email_reference(
            order_id=order.pk, timezone_name=order.shop.timezone, **extra
        ),
        language=order.customer.language,
        from_name=order.shop.name,
        reply_to=order.shop.contact_email,
    )


def confirm_proxy_order(*, proxy: ProxyOrder, now: datetime | None = None) -> str:
    """Confirm one placed proxy order; returns what happened: "confirmed", "retry" or
    "skipped" (already confirmed, or its order was canceled meanwhile)."""
    now = now or timezone.now()
    order = (
        Order.objects.select_related("shop", "order_cycle", "customer", "shipping_method")
        .filter(pk=proxy.order_id)
        .first()
    )
    if order is None or order.state != OrderState.COMPLETE:
        return "skipped"
    payment = (
        Payment.objects.select_related("method")
        .filter(order=order, state=PaymentState.PENDING)
        .order_by("-pk")
        .first()
    )
    result = _charge(order, payment)
    if result.status == ChargeStatus.RETRY:
        return "retry"
    if not _record(proxy=proxy, order=order, payment=payment, result=result, now=now):
        return "skipped"
    return "confirmed"


def _manual(proxy_order_ids: list[int]) -> list[int]:
    """Those whose payment to take is manual with something to pay: nothing to call.

    Three single-table reads by key rather than one join, so the plan stays an index walk
    whatever the table statistics say."""
    orders = {
        order_id: proxy_id
        for proxy_id, order_id, total in ProxyOrder.objects.filter(pk__in=proxy_order_ids)
        .order_by()
        .values_list("pk", "order_id", "order__total")
        if order_id is not None and total > 0
    }
    payments = list(
        Payment.objects.filter(order_id__in=list(orders), state=PaymentState.PENDING)
        .order_by()
        .values_list("order_id", "method_id")
    )
    manual = set(
        PaymentMethod.objects.filter(
            pk__in={method_id for _o, method_id in payments}, kind=PaymentMethodKind.MANUAL
        ).values_list("pk", flat=True)
    )
    return sorted({orders[order_id] for order_id, method_id in payments if method_id in manual})


def _confirm_manual_batch(
    *, order_cycle: OrderCycle, proxy_order_ids: list[int], now: datetime
) -> list[int]:
    """Confirm orders paid by hand in one transaction: no gateway is called, so nothing
    needs to happen outside the transaction, and the batch is all or nothing. The
    guarantee is the same as one order per transaction (marked only together with its
    payment update and its email row), at a fraction of the commits."""
    if not proxy_order_ids:
        return []
    shop = order_cycle.shop
    with transaction.atomic():
        qs = proxy_orders_to_confirm(order_cycle=order_cycle).filter(pk__in=proxy_order_ids)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(
            qs.order_by("pk").values_list(
                "pk", "order_id", "order__email", "order__customer__language"
            )
        )
        if not rows:
            return []
        claimed = [r[0] for r in rows]
        order_ids = [r[1] for r in rows]
        changed = ProxyOrder.objects.filter(pk__in=claimed, state=ProxyOrderState.PLACED).update(
            state=ProxyOrderState.CONFIRMED, confirmed_at=now, reason=""
        )
        if changed != len(claimed):
            raise RuntimeError("proxy orders changed under a confirmation that held their locks")
        Order.objects.filter(pk__in=order_ids, state=OrderState.COMPLETE).update(
            state=OrderState.CONFIRMED, confirmed_at=now, updated_at=now
        )
        # The payment is of the final total (edits since placement included).
        Payment.objects.filter(order_id__in=order_ids, state=PaymentState.PENDING).update(
            amount=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("total")[:1]),
            updated_at=now,
        )
        emails_queue_bulk(
            emails=[
                email_build(
                    to=email,
                    kind="confirmation",
                    context=order_email_reference(order_id=order_id, timezone_name=shop.timezone),
                    language=language,
                    from_name=shop.name,
                    reply_to=shop.contact_email,
                )
                for _pk, order_id, email, language in rows
            ]
        )
    return claimed


def confirm_cycle(*, order_cycle: OrderCycle, now: datetime | None = None) -> ConfirmationSummary:
    """Confirm every placed order of a closed cycle, then queue the shop's summary once
    nothing is left. Idempotent: safe to run again at any time."""
    now = now or timezone.now()
    order_cycle = OrderCycle.objects.select_related("shop").get(pk=order_cycle.pk)
    summary = ConfirmationSummary()
    if now < order_cycle.closes_at:
        return summary
    ids = list(
        proxy_orders_to_confirm(order_cycle=order_cycle).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        try:
            summary.confirmed += _confirm_manual_batch(
                order_cycle=order_cycle, proxy_order_ids=_manual(batch), now=now
            )
        except Exception:  # fall back to one by one below, which isolates the bad one
            logger.exception("batch confirmation of cycle %s failed", order_cycle.pk)
        proxies = ProxyOrder.objects.select_related("subscription__payment_method").filter(
            pk__in=batch, state=ProxyOrderState.PLACED
        )
        for proxy in proxies.order_by("pk"):
            try:
                outcome = confirm_proxy_order(proxy=proxy, now=now)
            except Exception as exc:  # one broken order never stops the others
                logger.exception("confirmation of proxy order %s failed", proxy.pk)
                summary.errors[proxy.pk] = str(exc)[:500]
                continue
            if outcome == "retry":
                summary.retry.append(proxy.pk)
            elif outcome == "skipped":
                summary.skipped += 1
            else:
                summary.confirmed.append(proxy.pk)
    if summary.confirmed:
        states = dict(
            Order.objects.filter(proxy_order__in=summary.confirmed).values_list(
                "proxy_order", "payment_state"
            )
        )
        reasons = dict(
            ProxyOrder.objects.filter(pk__in=summary.confirmed).values_list("pk", "reason")
        )
        for proxy_id in summary.confirmed:
            state = states.get(proxy_id)
            if state == PaymentState.PAID:
                summary.paid.append(proxy_id)
            elif state == PaymentState.FAILED:
                summary.payment_failed[proxy_id] = reasons.get(proxy_id, "")
            elif state == PaymentState.REQUIRES_AUTHORIZATION:
                summary.requires_action.append(proxy_id)
    confirmation_summary_queue_if_done(order_cycle=order_cycle, now=now)
    return summary


def confirmation_summary_key(order_cycle_id: int) -> str:
    return f"summary:confirmation:{order_cycle_id}"


def confirmation_summary_queue_if_done(*, order_cycle: OrderCycle, now: datetime) -> Email | None:
    """Queue the shop's one confirmation summary once the cycle has nothing left to confirm
    (built from the database, deduplicated by key)."""
    shop = order_cycle.shop
    if not shop.contact_email or now < order_cycle.closes_at:
        return None
    if proxy_orders_to_confirm(order_cycle=order_cycle).exists():
        return None
    key = confirmation_summary_key(order_cycle.pk)
    if Email.objects.filter(dedup_key=key).exists():
        return None
    rows = list(
        ProxyOrder.objects.filter(order_cycle=order_cycle, state=ProxyOrderState.CONFIRMED)
        .select_related("order", "subscription__customer")
        .order_by("pk")
    )
    if not rows:
        return None

    def who(proxy: ProxyOrder) -> str:
        customer = proxy.subscription.customer
        return f"{customer.full_name} <{customer.email}>" if customer.full_name else customer.email

    by_state: dict[str, list[ProxyOrder]] = {}
    for proxy in rows:
        by_state.setdefault(proxy.order.payment_state, []).append(proxy)
    context = {
        "timezone": shop.timezone,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "cycle": {"name": order_cycle.name, "closes_at": order_cycle.closes_at.isoformat()},
        "confirmed": len(rows),
        "paid": len(by_state.get(PaymentState.PAID, [])),
        "pending": len(by_state.get(PaymentState.PENDING, [])),
        "failed_payment": [
            {
                "number": p.order.number,
                "customer": who(p),
                "reason": p.reason or _("No reason given by the payment provider."),
            }
            for p in by_state.get(PaymentState.FAILED, [])
        ],
        "awaiting_authentication": [
            {"number": p.order.number, "customer": who(p)}
            for p in by_state.get(PaymentState.REQUIRES_AUTHORIZATION, [])
        ],
    }
    return email_queue(
        to=shop.contact_email,
        kind="confirmation_summary",
        context=context,
        language=settings.LANGUAGE_CODE,
        from_name=shop.name,
        dedup_key=key,
    )
