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

The other orders (card orders, and orders paid by hand that changed since read) each get
their own transaction, in three steps (never holding a database lock across a payment call):
1. read the chunk's orders and pending payments set-based (no lock), and have the payments
   app prepare every charge at once (`charges_prepare`: the buyer's card, consent and
   language; the charge already made, if any);
2. send the charges outside any transaction, `STRIPE_CONCURRENCY` at a time, from a pool of
   threads that only makes the gateway's network calls (no database connection is used
   there); the gateway derives its idempotency key from our payment row, so sending twice
   (a retry, a crash after charging, two workers) never charges twice;
3. as each call returns, on the calling thread, in one short transaction: claim the proxy
   order with a guarded UPDATE placed -> confirmed (if another worker already did, stop:
   nothing else is written), confirm the order, record the payment's outcome and its
   reference, and write the buyer's email; the chunk's emails are sent once it is done.

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
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from cadence.bulk import id_chunks, in_ids
from cadence.customers.models import Customer
from cadence.cycles.domain import order_cycle_is_closed
from cadence.cycles.models import OrderCycle
from cadence.enterprises.models import Enterprise
from cadence.notifications.models import Email
from cadence.notifications.services import (
    email_queue,
    emails_queue_rows,
    emails_send_after_commit,
)
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.orders.services import orders_confirm
from cadence.payments.gateways import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    PreparedCharge,
)
from cadence.payments.models import Payment, PaymentMethod, PaymentMethodKind
from cadence.payments.services import (
    charge_remember,
    charge_send,
    charges_prepare,
    payment_record_charge,
    payment_state_after,
    payments_take_order_totals,
)
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


@dataclass
class _Charge:
    """A placed order of the chunk to confirm through the general path: its proxy order,
    its order (still complete when read) and the pending payment to take (None: nothing
    left to take)."""

    proxy: ProxyOrder
    order: Order
    payment: Payment | None

    def request(self) -> ChargeRequest:
        order, payment = self.order, self.payment
        assert payment is not None  # only a payment is charged
        return ChargeRequest(
            payment_id=payment.pk,
            method_kind=payment.method.kind,
            amount=order.total,
            currency=order.currency,
            user_id=order.user_id,
            shop_id=order.shop_id,
            stripe_account=payment.method.stripe_account,
            description=f"{order.shop.name} #{order.number}",
        )


def _read(proxy_order_ids: list[int]) -> tuple[list[_Charge], int]:
    """Step 1 for a chunk, in three set-based queries, no lock: the placed proxy orders
    whose order is still complete, with the order's latest pending payment; and how many
    placed ones were left out (their order canceled meanwhile)."""
    proxies = list(
        ProxyOrder.objects.filter(pk__in=proxy_order_ids, state=ProxyOrderState.PLACED).order_by(
            "pk"
        )
    )
    orders = Order.objects.select_related("shop", "order_cycle", "customer").in_bulk(
        [p.order_id for p in proxies if p.order_id is not None]
    )
    payments: dict[int, Payment] = {}
    for payment in (
        Payment.objects.select_related("method")
        .filter(order_id__in=list(orders), state=PaymentState.PENDING)
        .order_by("pk")
    ):
        payments[payment.order_id] = payment  # the latest pending one
    charges = []
    for proxy in proxies:
        order = orders.get(proxy.order_id) if proxy.order_id is not None else None
        if order is not None and order.state == OrderState.COMPLETE:
            charges.append(_Charge(proxy, order, payments.get(order.pk)))
    return charges, len(proxies) - len(charges)


def _decided_without_gateway(charge: _Charge) -> ChargeResult | None:
    if charge.payment is None:
        # Nothing left to take (paid or voided by hand): confirm with the state it has.
        return ChargeResult(status=ChargeStatus.PENDING)
    if charge.order.total <= Decimal("0"):
        return ChargeResult(status=ChargeStatus.SUCCEEDED)
    return None


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


def _record(*, charge: _Charge, result: ChargeResult, now: datetime) -> int | None:
    """Step 3: one short transaction. Returns the id of the buyer's email row (its send is
    asked for by the caller, once for the chunk), or None when nothing was written: another
    worker had already confirmed the order, or it was canceled since step 1.

    The guarded UPDATE placed -> confirmed is the claim: it takes the proxy order's row lock
    (a concurrent skip or cancel of it waits, or already moved it and the UPDATE finds
    nothing), and only the worker whose UPDATE moved it writes the rest. Rows are locked in
    the order the other writers use: proxy order, order, payment."""
    proxy, order, payment = charge.proxy, charge.order, charge.payment
    failed = result.status == ChargeStatus.FAILED
    with transaction.atomic():
        # A declined payment leaves the order confirmed (payment_state failed) and the proxy
        # order `failed` with the reason, as domain.md's states say.
        claimed = ProxyOrder.objects.filter(pk=proxy.pk, state=ProxyOrderState.PLACED).update(
            state=ProxyOrderState.FAILED if failed else ProxyOrderState.CONFIRMED,
            confirmed_at=now,
            reason=result.error if failed else "",
        )
        if not claimed:
            return None
        payment_state = payment_state_after(result) if payment is not None else order.payment_state
        if not orders_confirm(order_ids=[order.pk], now=now, payment_state=payment_state):
            transaction.set_rollback(True)  # canceled since step 1: the claim is undone
            return None
        if payment is not None:
            # The payment is of the final total (edits since placement included).
            payment_record_charge(payment=payment, amount=order.total, result=result, now=now)
        order.state, order.confirmed_at, order.payment_state = (
            OrderState.CONFIRMED,
            now,
            payment_state,
        )
        (email_id,) = emails_queue_rows(
            rows=[_buyer_email_row(order=order, payment=payment, result=result)],
            now=now,
            send=False,
        )
    return email_id


def _buyer_email_row(
    *, order: Order, payment: Payment | None, result: ChargeResult
) -> tuple[Any, ...]:
    extra = {"error": result.error}
    if result.status == ChargeStatus.REQUIRES_ACTION and payment is not None:
        extra["auth_url"] = authentication_url(payment.pk)
    return buyer_email_row(
        kind=_EMAIL_KIND[result.status],
        to=order.email or order.customer.email,
        language=order.customer.language,
        shop=order.shop,
        context=order_email_reference(
            order_id=order.pk, timezone_name=order.shop.timezone, **extra
        ),
    )


_NOT_SENT = "not sent: the gateway is unreachable"  # for logs only: a retry is never shown


class _Breaker:
    """Stops a run from sending charges to a gateway that looks down: once `limit` answers
    in a row said 'unreachable' (each may have waited for a timeout), the run's other card
    orders are left to retry at the next run without a call, instead of each waiting for
    its own timeout. Told of every answer by the pool's threads as they get it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        return self.in_a_row >= self.limit

    def saw(self, result: ChargeResult) -> None:
        with self._lock:
            self.in_a_row = self.in_a_row + 1 if result.status == ChargeStatus.RETRY else 0


def _send(prepared: PreparedCharge, breaker: _Breaker) -> ChargeResult:
    """On a pool thread: the gateway's network calls only (no database). An exception from
    the gateway means 'try again later'."""
    if breaker.tripped:  # tripped while this charge waited for a thread
        return ChargeResult(ChargeStatus.RETRY, error=_NOT_SENT)
    try:
        result = charge_send(prepared)
    except Exception as exc:  # network trouble in a gateway that did not map it itself
        logger.exception("charging payment %s failed", prepared.request.payment_id)
        result = ChargeResult(status=ChargeStatus.RETRY, error=str(exc)[:500])
    breaker.saw(result)
    return result


def _breaker() -> _Breaker:
    return _Breaker(max(8, 2 * _concurrency()))


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
    whatever the table statistics say (the proxy orders' state is checked here, not in the
    query: statistics taken before placement would send it down the order index)."""
    proxies = {
        order_id: pk
        for pk, order_id, state in ProxyOrder.objects.filter(in_ids("pk", proxy_order_ids))
        .order_by()
        .values_list("pk", "order_id", "state")
        if state == ProxyOrderState.PLACED and order_id is not None
    }
    orders = {
        order_id: (email, customer_id)
        for order_id, email, customer_id, total in Order.objects.filter(
            in_ids("pk", proxies), state=OrderState.COMPLETE
        )
        .order_by()
        .values_list("pk", "email", "customer_id", "total")
        if total > 0
    }
    payments: dict[int, tuple[int, int]] = {}
    for payment_id, order_id, method_id in (
        Payment.objects.filter(in_ids("order_id", orders), state=PaymentState.PENDING)
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
        _locked(ProxyOrder.objects.filter(in_ids("pk", (r.proxy_id for r in rows))))
        .filter(state=ProxyOrderState.PLACED)
        .order_by("pk")
        .values_list("pk", "order_id")
    )
    rows = [r for r in rows if (r.proxy_id, r.order_id) in proxies]
    orders = set(
        _locked(Order.objects.filter(in_ids("pk", (r.order_id for r in rows))))
        .filter(state=OrderState.COMPLETE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = [r for r in rows if r.order_id in orders]
    payments = set(
        _locked(Payment.objects.filter(in_ids("pk", (r.payment_id for r in rows))))
        .filter(state=PaymentState.PENDING)
        .order_by("pk")
        .values_list("pk", "method_id")
    )
    return [r for r in rows if (r.payment_id, r.method_id) in payments]


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
            # us, or we waited for it above and found it no longer placed. Each guarded
            # UPDATE must move the whole chunk, or the chunk rolls back.
            moved = ProxyOrder.objects.filter(
                in_ids("pk", (r.proxy_id for r in rows)), state=ProxyOrderState.PLACED
            ).update(state=ProxyOrderState.CONFIRMED, confirmed_at=now, reason="")
            if moved != len(rows):
                raise _Changed
            if orders_confirm(order_ids=[r.order_id for r in rows], now=now) != len(rows):
                raise _Changed
            # The payment is of the final total (edits since placement included).
            payment_ids = [r.payment_id for r in rows]
            if payments_take_order_totals(payment_ids=payment_ids, now=now) != len(rows):
                raise _Changed
            # The emails `_record` would write, in one INSERT, sent once the chunk commits.
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


def _confirm_charges(
    proxy_order_ids: list[int], *, now: datetime, breaker: _Breaker, summary: ConfirmationSummary
) -> None:
    """The general path, for the chunk's orders not confirmed with the manual ones (card
    orders, and orders paid by hand that changed since read): read set-based (`_read`), the
    charges prepared for all of them at once (`charges_prepare`: cards, consents, languages),
    sent `STRIPE_CONCURRENCY` at a time from a pool of threads that only makes the gateway's
    network calls, and each outcome recorded on this thread, in its own short transaction,
    as soon as its call returns. The buyers' emails are sent once the chunk is done."""
    charges, skipped = _read(proxy_order_ids)
    summary.skipped += skipped
    email_ids: list[int] = []

    def conclude(charge: _Charge, result: ChargeResult) -> bool:
        """Record one outcome (or leave the order to retry); whether it was recorded."""
        pk = charge.proxy.pk
        result = _given_up(charge.order, result, now)
        if result.status == ChargeStatus.RETRY:
            summary.retry.append(pk)
            return False
        email_id = _record(charge=charge, result=result, now=now)
        if email_id is None:
            summary.skipped += 1
            return False
        summary.confirmed.append(pk)
        email_ids.append(email_id)
        # Orders paid by hand keep a pending payment; the others' outcome is on the order.
        state = charge.order.payment_state
        if state == PaymentState.PAID:
            summary.paid.append(pk)
        elif state == PaymentState.FAILED:
            summary.payment_failed[pk] = (
                result.error if result.status == ChargeStatus.FAILED else ""
            )
        elif state == PaymentState.REQUIRES_AUTHORIZATION:
            summary.requires_action.append(pk)
        return True

    def settle(charge: _Charge, result: ChargeResult) -> None:
        try:
            recorded = conclude(charge, result)
        except Exception as exc:  # one broken order never stops the others
            logger.exception("confirmation of proxy order %s failed", charge.proxy.pk)
            summary.errors[charge.proxy.pk] = str(exc)[:500]
            recorded = False
        if not recorded and result.reference and charge.payment is not None:
            try:  # only a shortcut back to the charge: the idempotency key remains
                charge_remember(payment_id=charge.payment.pk, result=result)
            except Exception:
                logger.exception("remembering the charge of payment %s failed", charge.payment.pk)

    to_charge = []
    for charge in charges:
        decided = _decided_without_gateway(charge)
        if decided is None:
            to_charge.append(charge)
        else:
            settle(charge, decided)
    try:
        prepared = charges_prepare([c.request() for c in to_charge]) if to_charge else {}
    except Exception as exc:  # the next run prepares them again
        logger.exception("preparing the charges of a confirmation chunk failed")
        for charge in to_charge:
            summary.errors[charge.proxy.pk] = str(exc)[:500]
        to_charge, prepared = [], {}

    pool: ThreadPoolExecutor | None = None
    answered: queue.SimpleQueue[Future[ChargeResult]] = queue.SimpleQueue()
    sending: dict[Future[ChargeResult], _Charge] = {}
    try:
        for charge in to_charge:
            assert charge.payment is not None  # decided above otherwise
            ready = prepared[charge.payment.pk]
            if isinstance(ready, ChargeResult):  # nothing to send (manual, no card)
                settle(charge, ready)
                continue
            if pool is None:
                pool = ThreadPoolExecutor(
                    max_workers=_concurrency(), thread_name_prefix="cadence-charge"
                )
            # Only the gateway's network calls run on the pool's threads: no database
            # connection is ever used (or opened) there.
            future = pool.submit(_send, ready, breaker)
            sending[future] = charge
            future.add_done_callback(answered.put)
        while sending:
            # Each outcome is recorded here, on the calling thread, as its call returns.
            # Should this process die between a charge and its record, the order stays
            # `placed` and the next run prepares the same charge again: its PaymentIntent
            # is looked up when its reference was written down, and otherwise the same
            # idempotency key (derived from the payment row) is sent, so Stripe answers with
            # the PaymentIntent it already made. Either way there is one PaymentIntent per
            # order, whatever is retried or killed.
            future = answered.get()
            charge = sending.pop(future)
            settle(charge, future.result())  # `_send` answers RETRY rather than raise
    finally:
        if pool is not None:
            # On the way out of a failure, charges not yet started are not sent at all.
            pool.shutdown(wait=True, cancel_futures=True)
        # Each email row committed with its order's record; one send for the chunk's. A
        # crash before this leaves them queued: the worker's catch-up sends them.
        emails_send_after_commit(email_ids=email_ids)


def _confirm_chunk(
    *,
    order_cycle: OrderCycle,
    proxy_order_ids: list[int],
    now: datetime,
    breaker: _Breaker | None = None,
) -> ConfirmationSummary:
    summary = ConfirmationSummary()
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
    rest = [pk for pk in proxy_order_ids if pk not in done]
    if rest:
        _confirm_charges(rest, now=now, breaker=breaker or _breaker(), summary=summary)
    summary.confirmed.sort()
    summary.paid.sort()
    summary.requires_action.sort()
    summary.retry.sort()
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
    failed = ChargeResult(status=ChargeStatus.FAILED, error=reason)
    emails_queue_rows(
        rows=[_buyer_email_row(order=order, payment=payment, result=failed)], now=timezone.now()
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
        summary_due,
        summary_orders,
    )

    shop = order_cycle.shop
    if not shop.contact_email or not order_cycle_is_closed(order_cycle, now=now):
        return None
    key = confirmation_summary_key(order_cycle.pk)
    if not summary_due(left=proxy_orders_to_confirm(order_cycle=order_cycle), key=key):
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
