"""Confirmation: when an order cycle closes, each placed order is finalised and paid.

Every closed cycle with placed, unconfirmed orders is confirmed, however long ago it closed
(the worker's catch-up finds them), so downtime never leaves a cycle unconfirmed.

The placed proxy orders are read chunk by chunk (keyset pagination, so memory does not
grow with the cycle); a chunk's orders, payments, methods and customers are loaded in a few
set-based queries, then:

Orders paid by hand (no gateway call) are confirmed together, the chunk in ONE transaction
(`_confirm_manual_chunk`): the rows still as read are locked and kept (those changed since,
e.g. canceled or confirmed by another worker, are left out), then one guarded UPDATE each
moves the proxy orders placed -> confirmed, the orders complete -> confirmed and sets the
payments' amount to the final total, and one INSERT writes the buyers' emails, sent once
the chunk commits (a crash before the send loses nothing: the worker's catch-up sends due
rows). All of the chunk, or nothing; a chunk that fails is done by the path below, one
order at a time.

Other orders, each in its own transaction, in three steps (never holding a database lock
across a payment call):
1. read the order and its pending payment (no lock);
2. ask the payment's gateway to charge the final total, outside any transaction; the
   gateway derives its idempotency key from our payment id, so asking twice (a retry, a
   crash after charging, two workers) never charges twice;
3. in one transaction: claim the proxy order with a guarded UPDATE placed -> confirmed
   (if another worker already did, stop: nothing else is written), confirm the order,
   record the payment outcome and queue the buyer's email.

Card charges of a chunk are sent at once, `STRIPE_CONCURRENCY` at a time: the calling thread
does steps 1 and 3 and the gateway's database reads (`prepare`) for every order, a pool of
threads makes only the network calls (`send`, which never touches the database, so no
connection is shared between threads), and each outcome is recorded by the calling thread,
in its own short transaction, as soon as its call returns. A gateway without that split (the
manual one) is called on the calling thread, one order at a time.

So a crash leaves each order either confirmed with its payment recorded and its email
queued, or still `placed` and done again by the next run; never marked without being done.
A gateway that cannot be reached (`RETRY`) leaves the order to do at the next tick (and
after a run of such answers the run stops calling it: `_Breaker`), until
`GIVE_UP_CHARGING_AFTER` has passed since the close: the order is then confirmed with its
payment still pending, which the shop's summary lists as still to charge.

A payment that fails later (the buyer did not complete the authentication asked for) marks
the proxy order failed with the reason and emails the buyer: `proxy_order_payment_failed`,
registered with the payments app's `on_payment_failed` hooks.

Decision on states: the proxy order becomes `confirmed` whenever its order is confirmed,
whatever happened to the payment; the payment's outcome lives in `Order.payment_state`
(and the payment row), and a payment failure's message is copied to the proxy order's
`reason`, so lists can show it without a join.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.utils import timezone

from cadence.bulk import id_chunks
from cadence.customers.models import Customer
from cadence.cycles.domain import order_cycle_is_closed
from cadence.cycles.models import OrderCycle
from cadence.enterprises.models import Enterprise
from cadence.notifications.models import Email
from cadence.notifications.services import email_queue, emails_queue_rows
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.payments.gateways import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PoolableGateway,
    PreparedCharge,
    gateway_for,
)
from cadence.payments.models import Payment, PaymentMethod, PaymentMethodKind
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.emails import buyer_email_row, order_email_reference

logger = logging.getLogger("cadence.confirmation")

# Proxy orders read (and their orders, payments, customers loaded) at once; the orders paid
# by hand among them are confirmed in one transaction.
CHUNK_SIZE = 200

# A payment gateway still unreachable this long after the close: the order is confirmed
# with its payment pending (the shop's summary lists it as still to charge) rather than
# left waiting, so the buyer and the shop hear about the cycle.
GIVE_UP_CHARGING_AFTER = timedelta(hours=6)

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

    def counts(self) -> dict[str, int]:
        """The run's figures, for structured logs."""
        return {
            "confirmed": len(self.confirmed),
            "paid": len(self.paid),
            "payment_failed": len(self.payment_failed),
            "requires_action": len(self.requires_action),
            "retry": len(self.retry),
            "errors": len(self.errors),
        }

    def describe(self) -> str:
        return (
            f"confirmed {len(self.confirmed)} (paid {len(self.paid)}, payment failed "
            f"{len(self.payment_failed)}, awaiting authentication {len(self.requires_action)}), "
            f"to retry {len(self.retry)}, errors {len(self.errors)}"
        )


def proxy_orders_to_confirm(*, order_cycle: OrderCycle) -> QuerySet[ProxyOrder]:
    """Placed proxy orders of the cycle whose order is still placed (not canceled).

    The subscription's pause or cancellation is deliberately ignored: an order the manager
    chose to keep when pausing or canceling is still confirmed and charged."""
    return ProxyOrder.objects.filter(
        order_cycle=order_cycle, state=ProxyOrderState.PLACED, order__state=OrderState.COMPLETE
    )


def authentication_url(payment_id: int) -> str:
    return f"{settings.BASE_URL}/pay/authenticate/{payment_id}/"


def _charge_request(order: Order, payment: Payment) -> ChargeRequest:
    return ChargeRequest(
        payment_id=payment.pk,
        amount=order.total,
        currency=order.currency,
        user_id=order.user_id,
        shop_id=order.shop_id,
        stripe_account=payment.method.stripe_account,
        description=f"{order.shop.name} #{order.number}",
    )


def _decided_without_gateway(order: Order, payment: Payment | None) -> ChargeResult | None:
    if payment is None:
        # Nothing left to take (paid or voided by hand): confirm with the state it has.
        return ChargeResult(status=ChargeStatus.PENDING)
    if order.total <= Decimal("0"):
        return ChargeResult(status=ChargeStatus.SUCCEEDED)
    return None


_A = TypeVar("_A")
_R = TypeVar("_R")


def _retry_on_error(call: Callable[[_A], _R], argument: _A, payment_id: int) -> _R | ChargeResult:
    """A gateway's call; an exception from it means 'try again later'."""
    try:
        return call(argument)
    except Exception as exc:  # network trouble in a gateway that did not map it itself
        logger.exception("charging payment %s failed", payment_id)
        return ChargeResult(status=ChargeStatus.RETRY, error=str(exc)[:500])


def _charge(order: Order, payment: Payment | None) -> ChargeResult:
    """Step 2, outside any transaction. Exceptions from a gateway mean 'try again later'."""
    decided = _decided_without_gateway(order, payment)
    if decided is not None:
        return decided
    assert payment is not None  # decided above otherwise
    gateway = gateway_for(payment.method.kind)
    return _retry_on_error(gateway.charge, _charge_request(order, payment), payment.pk)


def _given_up(order: Order, result: ChargeResult, now: datetime) -> ChargeResult:
    """A RETRY long enough after the close becomes 'pending': confirmed, still to charge."""
    if result.status != ChargeStatus.RETRY:
        return result
    if now < order.order_cycle.closes_at + GIVE_UP_CHARGING_AFTER:
        return result
    logger.warning(
        "order %s confirmed with its payment still to charge: the gateway was unreachable "
        "until %s after the close (%s)",
        order.pk,
        GIVE_UP_CHARGING_AFTER,
        result.error,
    )
    return ChargeResult(status=ChargeStatus.PENDING, reference=result.reference)


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
        # A declined payment leaves the order confirmed (payment_state failed) and the proxy
        # order `failed` with the reason, as domain.md's states say.
        claimed = ProxyOrder.objects.filter(pk=proxy.pk, state=ProxyOrderState.PLACED).update(
            state=(
                ProxyOrderState.FAILED
                if result.status == ChargeStatus.FAILED
                else ProxyOrderState.CONFIRMED
            ),
            confirmed_at=now,
            reason=result.error if result.status == ChargeStatus.FAILED else "",
        )
        if not claimed:
            return False
        if payment is not None:
            payment_state: str = _PAYMENT_STATE[result.status]
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


def _read(proxy: ProxyOrder) -> tuple[Order | None, Payment | None]:
    """Step 1: the order (None unless still complete) and its pending payment; no lock."""
    if proxy.order_id is None:
        return None, None
    order = (
        Order.objects.select_related("shop", "order_cycle", "customer", "shipping_method")
        .filter(pk=proxy.order_id)
        .first()
    )
    if order is None or order.state != OrderState.COMPLETE:
        return None, None
    payment = (
        Payment.objects.select_related("method")
        .filter(order=order, state=PaymentState.PENDING)
        .order_by("-pk")
        .first()
    )
    return order, payment


def _conclude(
    *, proxy: ProxyOrder, order: Order, payment: Payment | None, result: ChargeResult, now: datetime
) -> str:
    """Step 3 for a gateway's answer: "confirmed", "retry" or "skipped"."""
    result = _given_up(order, result, now)
    if result.status == ChargeStatus.RETRY:
        return "retry"
    if not _record(proxy=proxy, order=order, payment=payment, result=result, now=now):
        return "skipped"
    return "confirmed"


def confirm_proxy_order(*, proxy: ProxyOrder, now: datetime | None = None) -> str:
    """Confirm one placed proxy order; returns what happened: "confirmed", "retry" or
    "skipped" (already confirmed, or its order was canceled meanwhile)."""
    now = now or timezone.now()
    order, payment = _read(proxy)
    if order is None:
        return "skipped"
    result = _charge(order, payment)
    return _conclude(proxy=proxy, order=order, payment=payment, result=result, now=now)


@dataclass
class _ToSend:
    """A charge prepared on the calling thread, sent from the pool."""

    proxy: ProxyOrder
    order: Order
    payment: Payment
    gateway: PoolableGateway
    request: ChargeRequest


_NOT_SENT = "not sent: the gateway is unreachable"  # for logs only: a retry is never shown


class _Breaker:
    """Stops a run from sending charges to a gateway that looks down: once `limit` answers
    in a row said 'unreachable' (each may have waited for a timeout), the run's other card
    orders are left to retry at the next run without a call, instead of each waiting for
    its own timeout."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0

    @property
    def tripped(self) -> bool:
        return self.in_a_row >= self.limit

    def saw(self, result: ChargeResult) -> None:
        self.in_a_row = self.in_a_row + 1 if result.status == ChargeStatus.RETRY else 0


def _send(item: _ToSend, prepared: PreparedCharge, breaker: _Breaker) -> ChargeResult:
    """On a pool thread: the gateway's network calls only (no database)."""
    if breaker.tripped:  # tripped while this charge waited for a thread
        return ChargeResult(ChargeStatus.RETRY, error=_NOT_SENT)
    return _retry_on_error(item.gateway.send, prepared, item.payment.pk)


def _breaker() -> _Breaker:
    return _Breaker(max(8, 2 * _concurrency()))


def _start(
    *, proxy: ProxyOrder, now: datetime, breaker: _Breaker | None = None
) -> str | tuple[_ToSend, PreparedCharge]:
    """Steps 1 and 2 of one order, on the calling thread: the outcome ("confirmed",
    "retry", "skipped") when it was decided here, else the charge to send from the pool."""
    order, payment = _read(proxy)
    if order is None:
        return "skipped"
    result = _decided_without_gateway(order, payment)
    if result is None:
        assert payment is not None  # decided above otherwise
        gateway = gateway_for(payment.method.kind)
        request = _charge_request(order, payment)
        if not isinstance(gateway, PoolableGateway):
            result = _retry_on_error(gateway.charge, request, payment.pk)
        elif breaker is not None and breaker.tripped:
            result = ChargeResult(ChargeStatus.RETRY, error=_NOT_SENT)
        else:
            prepared = _retry_on_error(gateway.prepare, request, payment.pk)
            if isinstance(prepared, PreparedCharge):
                return _ToSend(proxy, order, payment, gateway, request), prepared
            result = prepared
    return _conclude(proxy=proxy, order=order, payment=payment, result=result, now=now)


def _finish(*, item: _ToSend, result: ChargeResult, now: datetime) -> str:
    """Step 3 of a charge sent from the pool, on the calling thread."""
    try:
        item.gateway.settle(item.request, result)
    except Exception:  # only a shortcut back to the charge: the idempotency key remains
        logger.exception("remembering the charge of payment %s failed", item.payment.pk)
    return _conclude(
        proxy=item.proxy, order=item.order, payment=item.payment, result=result, now=now
    )


def _concurrency() -> int:
    return max(1, int(getattr(settings, "STRIPE_CONCURRENCY", 16) or 1))


@dataclass(frozen=True)
class _ManualOrder:
    proxy_id: int
    order_id: int
    payment_id: int
    method_id: int
    email: str
    language: str


def _manual(proxy_order_ids: list[int]) -> list[_ManualOrder]:
    """Those whose payment to take is manual with something to pay: nothing to call.

    Single-table reads by key rather than one join, so the plan stays an index walk
    whatever the table statistics say."""
    proxies = dict(
        ProxyOrder.objects.filter(
            pk__in=proxy_order_ids, state=ProxyOrderState.PLACED, order__isnull=False
        )
        .order_by()
        .values_list("order_id", "pk")
    )
    orders = {
        order_id: (email, customer_id)
        for order_id, email, customer_id, total in Order.objects.filter(
            pk__in=list(proxies), state=OrderState.COMPLETE
        )
        .order_by()
        .values_list("pk", "email", "customer_id", "total")
        if total > 0
    }
    payments: dict[int, tuple[int, int]] = {}
    for payment_id, order_id, method_id in (
        Payment.objects.filter(order_id__in=list(orders), state=PaymentState.PENDING)
        .order_by("pk")
        .values_list("pk", "order_id", "method_id")
    ):
        payments[order_id] = (payment_id, method_id)  # the latest, as `confirm_proxy_order`
    manual = set(
        PaymentMethod.objects.filter(
            pk__in={method_id for _p, method_id in payments.values()},
            kind=PaymentMethodKind.MANUAL,
        ).values_list("pk", flat=True)
    )
    customers = {
        pk: (email, language)
        for pk, email, language in Customer.objects.filter(
            pk__in={customer_id for _e, customer_id in orders.values()}
        ).values_list("pk", "email", "language")
    }
    rows = []
    for order_id, (payment_id, method_id) in payments.items():
        if method_id not in manual:
            continue
        email, customer_id = orders[order_id]
        customer_email, language = customers[customer_id]
        rows.append(
            _ManualOrder(
                proxy_id=proxies[order_id],
                order_id=order_id,
                payment_id=payment_id,
                method_id=method_id,
                email=email or customer_email,
                language=language,
            )
        )
    return sorted(rows, key=lambda row: row.proxy_id)


class _Changed(Exception):
    """A guarded UPDATE found a row changed: roll the chunk's transaction back."""


_M = TypeVar("_M", bound=Model)


def _locked(qs: QuerySet[_M]) -> QuerySet[_M]:
    """Lock the queryset's own rows until the transaction ends (PostgreSQL; on SQLite the
    transaction already holds the database's write lock from its start: IMMEDIATE)."""
    if connection.features.has_select_for_update:
        return qs.select_for_update(of=("self",))
    return qs


def _still_to_confirm(rows: list[_ManualOrder]) -> list[_ManualOrder]:
    """The rows whose proxy order is still placed (with the same order), whose order is
    still complete and whose payment is still pending with the same method, re-read inside
    the chunk's transaction with their rows locked (proxy orders, then orders, then
    payments, each in key order, the order other writers use): nobody can change them
    before the chunk commits. The others changed since the chunk was read."""
    proxies = set(
        _locked(ProxyOrder.objects.filter(pk__in=[r.proxy_id for r in rows]))
        .filter(state=ProxyOrderState.PLACED)
        .order_by("pk")
        .values_list("pk", "order_id")
    )
    rows = [r for r in rows if (r.proxy_id, r.order_id) in proxies]
    orders = set(
        _locked(Order.objects.filter(pk__in=[r.order_id for r in rows]))
        .filter(state=OrderState.COMPLETE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = [r for r in rows if r.order_id in orders]
    payments = set(
        _locked(Payment.objects.filter(pk__in=[r.payment_id for r in rows]))
        .filter(state=PaymentState.PENDING)
        .order_by("pk")
        .values_list("pk", "method_id")
    )
    return [r for r in rows if (r.payment_id, r.method_id) in payments]


def _guarded(qs: QuerySet[Any], ids: list[int], **values: Any) -> None:
    """A set-based UPDATE of these rows (their guard in `qs`); all of them, or none."""
    if qs.filter(pk__in=ids).update(**values) != len(ids):
        raise _Changed


def _confirm_manual_chunk(
    *, rows: list[_ManualOrder], shop: Enterprise, now: datetime
) -> dict[int, int]:
    """Confirm a chunk of orders paid by hand in ONE transaction: the rows still as read
    are locked and kept (`_still_to_confirm`; the others are left out, untouched, for the
    general path to find as they now are), then their proxy orders, orders and payments
    move with one guarded UPDATE each and their confirmation emails are written with one
    INSERT, the send asked for once the chunk commits. Returns {proxy order id: email id}
    of the confirmed ones; all of the chunk is written, or (an UPDATE finding a row changed
    despite the locks, or any error) nothing.

    Never twice, whatever is re-run or run twice at once:
    - a proxy order is confirmed only by the transaction that moves it with
      `UPDATE … WHERE state = 'placed'` (its orders with `state = 'complete'`, its payments
      with `state = 'pending'`), each UPDATE's row count checked: a count short of the
      chunk rolls the whole chunk back;
    - a second worker on the same chunk waits on the proxy orders' row locks (SELECT … FOR
      UPDATE; SQLite: the write lock taken at BEGIN IMMEDIATE), then re-reads them no
      longer placed and leaves them out; a re-run after a crash finds the committed ones
      no longer placed (`proxy_orders_to_confirm`), the rolled-back ones untouched;
    - each email row is inserted in the same transaction as its order's move, so it exists
      exactly when the move committed: one email per confirmed order, none for the others.
      Sending is the outbox's own guarded claim (queued -> sending), so asking for the send
      again (after commit, and the worker's catch-up) sends each row once."""
    if not rows:
        return {}
    try:
        with transaction.atomic():
            rows = _still_to_confirm(rows)
            if not rows:
                return {}
            # The proxy orders first: a concurrent skip or cancel that locked one waits for
            # us, or we waited for it above and found it no longer placed.
            _guarded(
                ProxyOrder.objects.filter(state=ProxyOrderState.PLACED),
                [r.proxy_id for r in rows],
                state=ProxyOrderState.CONFIRMED,
                confirmed_at=now,
                reason="",
            )
            _guarded(
                Order.objects.filter(state=OrderState.COMPLETE),
                [r.order_id for r in rows],
                state=OrderState.CONFIRMED,
                confirmed_at=now,
                updated_at=now,
            )
            # The payment is of the final total (edits since placement included).
            _guarded(
                Payment.objects.filter(state=PaymentState.PENDING),
                [r.payment_id for r in rows],
                amount=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("total")[:1]),
                updated_at=now,
            )
            # The emails `_queue_buyer_email` would queue, in one INSERT, sent once the
            # chunk commits.
            email_ids = emails_queue_rows(
                rows=[
                    buyer_email_row(
                        kind="confirmation",
                        to=r.email,
                        language=r.language,
                        shop=shop,
                        context=order_email_reference(
                            order_id=r.order_id, timezone_name=shop.timezone
                        ),
                    )
                    for r in rows
                ],
                now=now,
            )
    except _Changed:
        return {}
    return {r.proxy_id: email_id for r, email_id in zip(rows, email_ids, strict=True)}


def _confirm_manual(*, row: _ManualOrder, shop: Enterprise, now: datetime) -> int | None:
    """Confirm one order paid by hand (a chunk of one); the id of its email row, or None
    when something changed since it was read (another worker confirmed it, it was canceled,
    its payment changed): nothing is written then."""
    return _confirm_manual_chunk(rows=[row], shop=shop, now=now).get(row.proxy_id)


def _confirm_chunk(
    *,
    order_cycle: OrderCycle,
    proxy_order_ids: list[int],
    now: datetime,
    breaker: _Breaker | None = None,
) -> ConfirmationSummary:
    summary = ConfirmationSummary()
    breaker = breaker or _breaker()
    try:
        manual = _manual(proxy_order_ids)
    except Exception:  # one by one below, which isolates whatever is wrong
        logger.exception("reading confirmation chunk of cycle %s failed", order_cycle.pk)
        manual = []
    try:
        done = _confirm_manual_chunk(rows=manual, shop=order_cycle.shop, now=now)
    except Exception:  # the general path below confirms them one by one, isolating errors
        logger.exception("confirmation of a chunk of cycle %s failed", order_cycle.pk)
        done = {}
    summary.confirmed += done
    others = []

    def tally(proxy_id: int, outcome: str) -> None:
        if outcome == "retry":
            summary.retry.append(proxy_id)
        elif outcome == "skipped":
            summary.skipped += 1
        else:
            summary.confirmed.append(proxy_id)
            others.append(proxy_id)

    # The others: card orders, and orders paid by hand left out above (changed since read).
    rest = [pk for pk in proxy_order_ids if pk not in done]
    proxies = ProxyOrder.objects.select_related("subscription__payment_method").filter(
        pk__in=rest, state=ProxyOrderState.PLACED
    )
    pool: ThreadPoolExecutor | None = None
    answered: queue.SimpleQueue[Future[ChargeResult]] = queue.SimpleQueue()
    sending: dict[Future[ChargeResult], _ToSend] = {}

    def record(future: Future[ChargeResult]) -> None:
        # Each outcome is recorded here, on the calling thread, as its call returns. Should
        # this process die between a charge and its record, the order stays `placed` and
        # the next run prepares the same charge again: its PaymentIntent id is read back
        # from the payment when `settle` wrote it, and otherwise the same idempotency key
        # (derived from the payment row) is sent, so Stripe answers with the PaymentIntent
        # it already made. Either way there is one PaymentIntent per order, whatever is
        # retried or killed.
        item = sending.pop(future)
        try:
            result = future.result()
            breaker.saw(result)
            outcome = _finish(item=item, result=result, now=now)
        except Exception as exc:  # one broken order never stops the others
            logger.exception("confirmation of proxy order %s failed", item.proxy.pk)
            summary.errors[item.proxy.pk] = str(exc)[:500]
            return
        tally(item.proxy.pk, outcome)

    try:
        for proxy in proxies.order_by("pk") if rest else ():
            try:
                started = _start(proxy=proxy, now=now, breaker=breaker)
            except Exception as exc:  # one broken order never stops the others
                logger.exception("confirmation of proxy order %s failed", proxy.pk)
                summary.errors[proxy.pk] = str(exc)[:500]
                continue
            if isinstance(started, str):
                tally(proxy.pk, started)
            else:
                item, prepared = started
                if pool is None:
                    pool = ThreadPoolExecutor(
                        max_workers=_concurrency(), thread_name_prefix="cadence-charge"
                    )
                # Only the gateway's network calls run on the pool's threads: no database
                # connection is ever used (or opened) there.
                future = pool.submit(_send, item, prepared, breaker)
                sending[future] = item
                future.add_done_callback(answered.put)
            while not answered.empty():  # record what has come back while preparing more
                record(answered.get())
        while sending:
            record(answered.get())
    finally:
        if pool is not None:
            # On the way out of a failure, charges not yet started are not sent at all.
            pool.shutdown(wait=True, cancel_futures=True)
    summary.confirmed.sort()
    summary.retry.sort()
    others.sort()
    if others:
        # Orders paid by hand keep a pending payment; the others' outcome is on the order.
        states = dict(
            Order.objects.filter(proxy_order__in=others).values_list("proxy_order", "payment_state")
        )
        reasons = dict(ProxyOrder.objects.filter(pk__in=others).values_list("pk", "reason"))
        for proxy_id in others:
            state = states.get(proxy_id)
            if state == PaymentState.PAID:
                summary.paid.append(proxy_id)
            elif state == PaymentState.FAILED:
                summary.payment_failed[proxy_id] = reasons.get(proxy_id, "")
            elif state == PaymentState.REQUIRES_AUTHORIZATION:
                summary.requires_action.append(proxy_id)
    return summary


def confirm_cycle(
    *,
    order_cycle: OrderCycle,
    now: datetime | None = None,
    on_chunk: Callable[[int], object] | None = None,
) -> ConfirmationSummary:
    """Confirm every placed order of a closed cycle, chunk by chunk, then queue the shop's
    summary once nothing is left. Idempotent: safe to run again at any time. `on_chunk` is
    told how many proxy orders each chunk handled (a terminal's progress bar)."""
    now = now or timezone.now()
    order_cycle = OrderCycle.objects.select_related("shop").get(pk=order_cycle.pk)
    summary = ConfirmationSummary()
    if not order_cycle_is_closed(order_cycle, now=now):
        return summary
    breaker = _breaker()  # one for the whole run
    for chunk in id_chunks(proxy_orders_to_confirm(order_cycle=order_cycle), CHUNK_SIZE):
        summary.merge(
            _confirm_chunk(order_cycle=order_cycle, proxy_order_ids=chunk, now=now, breaker=breaker)
        )
        if on_chunk is not None:
            on_chunk(len(chunk))
    confirmation_summary_queue_if_done(order_cycle=order_cycle, now=now)
    return summary


def proxy_order_payment_failed(*, payment: Payment, reason: str) -> None:
    """The payments app's `on_payment_failed` hook: a payment confirmation left undecided
    (awaiting the buyer's authentication, or still processing) failed after all. Its
    confirmed proxy order becomes `failed` with the reason, and the buyer gets the
    failed-payment email, once: only the call that moves the proxy order from confirmed to
    failed queues it. Runs inside the transaction that records the payment's failure."""
    proxies = ProxyOrder.objects.filter(order_id=payment.order_id, state=ProxyOrderState.CONFIRMED)
    if connection.features.has_select_for_update:
        # Serialise two deliveries of the news (a webhook and the authentication page).
        proxies = proxies.select_for_update(of=("self",))
    proxy = proxies.first()
    if proxy is None:
        return  # not an order of a subscription, or already marked
    if not ProxyOrder.objects.filter(pk=proxy.pk, state=ProxyOrderState.CONFIRMED).update(
        state=ProxyOrderState.FAILED, reason=reason
    ):
        return
    order = Order.objects.select_related("shop", "customer").get(pk=payment.order_id)
    _queue_buyer_email(
        order=order,
        proxy=proxy,
        payment=payment,
        result=ChargeResult(status=ChargeStatus.FAILED, error=reason),
    )


def confirmation_summary_key(order_cycle_id: int) -> str:
    return f"summary:confirmation:{order_cycle_id}"


def confirmation_summary_queue_if_done(*, order_cycle: OrderCycle, now: datetime) -> Email | None:
    """Queue the shop's one confirmation summary once the cycle has nothing left to confirm
    (built from the database, deduplicated by key).

    It lists the orders by outcome: paid by card, to be paid by hand, still to charge (a card
    method whose payment is pending), payment failed (with the reason), awaiting the buyer's
    authentication, payment voided; and the subscriptions that failed without an order."""
    # The summary helpers shared with the placement summary.
    from django.utils import translation

    from cadence.subscriptions.services.emails import (
        SummaryLists,
        confirmation_outcome,
        summary_orders,
    )

    shop = order_cycle.shop
    if not shop.contact_email or not order_cycle_is_closed(order_cycle, now=now):
        return None
    if proxy_orders_to_confirm(order_cycle=order_cycle).exists():
        return None
    key = confirmation_summary_key(order_cycle.pk)
    if Email.objects.filter(dedup_key=key).exists():
        return None

    confirmed = 0
    lists = SummaryLists(
        "paid_orders",
        "to_collect",
        "to_charge",
        "failed_payment",
        "awaiting_authentication",
        "voided",
        "not_placed",
    )
    for row in summary_orders(
        ProxyOrder.objects.filter(
            order_cycle=order_cycle,
            state__in=[ProxyOrderState.CONFIRMED, ProxyOrderState.FAILED],
        )
    ):
        with translation.override(shop.language):  # the summary's language, not ours
            outcome = confirmation_outcome(row)
        if outcome is None:
            continue
        name, reason = outcome
        if name != "not_placed":
            confirmed += 1
        if name:
            lists.add(name, row, reason=reason)
    if not confirmed:
        return None
    context = {
        "timezone": shop.timezone,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "cycle": {"name": order_cycle.name, "closes_at": order_cycle.closes_at.isoformat()},
        "confirmed": confirmed,
        "paid": lists.counts["paid_orders"],
        "pending": lists.counts["to_collect"],
        **lists.context(),
    }
    return email_queue(
        to=shop.contact_email,
        kind="confirmation_summary",
        context=context,
        language=shop.language,
        from_name=shop.name,
        dedup_key=key,
    )
