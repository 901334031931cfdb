"""Placement: when an order cycle opens, each eligible proxy order becomes a real order.

The work is set-based. A cycle's eligible proxy orders are cut into chunks of CHUNK_SIZE;
a chunk is one transaction of five steps: load everything it needs in a handful of
queries; plan who gets what (`planning.plan`, pure: no query, no write); reserve the stock
with one UPDATE (`catalog`); write orders with their lines and fees (`orders`), payments
(`payments`) and proxy-order states, one bulk statement each; notify, queueing the buyers'
emails in the outbox (`notifications`) with one more. A chunk is all or nothing: after a
crash its proxy orders are still pending and the next run (a task retry or the worker's
catch-up) places them.

Who gets scarce stock is decided once for the whole cycle, *before* the first chunk: the
cycle's allocation (`services.cycle_allocation`) divides the full stock over every proxy order
eligible then, following the shop's allocation policy, and is stored (`CycleAllocation`,
one per cycle; the proxy orders it counts are marked `allocated`). Every chunk, re-run
(task retry, `cadence tick`, the worker's catch-up) and worker reads the stored allocation,
never recomputes it from what is left, so the result depends neither on how the cycle was
cut, nor on which worker took which chunk, nor on a crash between chunks. A cycle whose
eligible proxy orders fit in one chunk (most shops' cycles) is placed in one transaction
that also stores its allocation, computed from what the chunk read (`planning.plan_shares`,
the same division): the allocation's own transaction and its reads are spared.

Proxy orders that become eligible later (a subscription started, unpaused or a delivery
resumed during the cycle, an empty or failed one retried), and every explicit request
(`place_proxy_orders`), are served first come, oldest subscription first, from the stock
that is not held for the allocated proxy orders still pending; they never change anyone
else's share. Stock the manager edits during the cycle is not re-divided: a chunk still
takes no more than the stock actually there (never negative), and stock added is there for
those served first come.

Memory does not grow with the cycle: proxy order ids are read chunk by chunk (keyset
pagination on the primary key), demand is summed per variant in the database, and only for
the variants in shortage are the claims streamed, oldest first, into a constant-size
`Share` (a cut-off rank) that each chunk applies to its own proxy orders.

Idempotency and concurrency:
- the allocation is stored once per cycle (a one-to-one key on the cycle): workers starting
  the same cycle together store one row and all read it.
- a proxy order is claimed inside the chunk's transaction with SELECT … FOR UPDATE SKIP
  LOCKED (PostgreSQL): two workers given the same ids place each proxy order once; the one
  that finds a row locked skips it. A run walking the cycle (`place_cycle`) chooses its
  next chunk with that same query, the next CHUNK_SIZE ids, so it passes by the rows
  another worker is placing. On SQLite, `transaction_mode=IMMEDIATE` serialises
  writing transactions instead.
- the state change is a guarded UPDATE (`WHERE state IN (expected)`) whose row count is
  checked, and `ProxyOrder.order` is one-to-one: a second order for a proxy order cannot be
  written even if the code above were wrong.
- variants are locked in primary-key order (no deadlock between chunks) before their stock
  is read and decremented, and `on_hand >= 0` is a database constraint: stock never goes
  negative.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.bulk import id_chunks, in_ids, update_each
from cadence.catalog.models import Variant
from cadence.catalog.services import stock_reserve_bulk
from cadence.cycles.domain import order_cycle_is_open
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import order_cycle_sells
from cadence.notifications.models import Email
from cadence.notifications.services import (
    email_queue,
    emails_queue_rows,
    emails_send_after_commit,
)
from cadence.orders.domain import Fee, fees_for
from cadence.orders.services import NewOrder, orders_create_bulk
from cadence.payments.models import PaymentMethodKind
from cadence.payments.services import payments_create_pending
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionLineItem,
)
from cadence.subscriptions.planning import (
    Offer,
    ProxyOrderPlan,
    Request,
    first_come_variants,
    plan,
    plan_shares,
)
from cadence.subscriptions.selectors import CYCLE_STATES, eligible_proxy_orders
from cadence.subscriptions.services.cycle_allocation import (
    Shares,
    allocation_claim,
    allocation_is_stored,
    allocation_store,
    held_elsewhere,
    stored_shares,
)
from cadence.subscriptions.services.emails import buyer_email_row, buyer_name, order_email_reference

logger = logging.getLogger("cadence.placement")

_M = TypeVar("_M", bound=Model)

# A few hundred proxy orders per transaction: big enough that per-query overhead vanishes,
# small enough that a chunk holds its variant locks for well under a second and that
# several workers can share a big cycle.
CHUNK_SIZE = 500

# What an explicit request (unpause, resume, retry) may place: also an empty or failed one.
EXPLICIT_STATES = (ProxyOrderState.PENDING, ProxyOrderState.EMPTY, ProxyOrderState.FAILED)


@dataclass
class PlacementSummary:
    """What a placement run did, by proxy order id."""

    placed: list[int] = field(default_factory=list)
    shortages: list[int] = field(default_factory=list)  # placed with less than asked
    empty: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: int = 0  # no longer eligible, or taken by another worker
    # Of the skipped: found already placed (by an earlier run, or a worker placing them now).
    already_placed: list[int] = field(default_factory=list)
    queued_chunks: int = 0
    # Buyers' emails written but whose send the caller asked to do itself (`send_emails`).
    unsent_email_ids: list[int] = field(default_factory=list)
    # The proxy orders a chunk chosen by `after` took, for the run walking the cycle to go on
    # from the last one (not merged: it says where one chunk ended).
    walked: list[int] = field(default_factory=list)

    def merge(self, other: PlacementSummary) -> PlacementSummary:
        self.placed += other.placed
        self.shortages += other.shortages
        self.empty += other.empty
        self.failed.update(other.failed)
        self.skipped += other.skipped
        self.already_placed += other.already_placed
        self.queued_chunks += other.queued_chunks
        self.unsent_email_ids += other.unsent_email_ids
        return self

    @property
    def did_something(self) -> bool:
        return bool(self.placed or self.empty or self.failed or self.queued_chunks)

    def counts(self) -> dict[str, int]:
        """The run's figures, for structured logs."""
        return {
            "placed": len(self.placed),
            "shortages": len(self.shortages),
            "empty": len(self.empty),
            "already_placed": len(self.already_placed),
            "failed": len(self.failed),
            "queued_chunks": self.queued_chunks,
        }

    def describe(self) -> str:
        if self.queued_chunks:
            return f"{self.queued_chunks} placement chunk(s) queued"
        return (
            f"placed {len(self.placed)} ({len(self.shortages)} with shortages), "
            f"empty {len(self.empty)}, already placed {len(self.already_placed)}, "
            f"failed {len(self.failed)}"
        )


def _locking(qs: QuerySet[_M]) -> QuerySet[_M]:
    """FOR UPDATE SKIP LOCKED on the queryset's own rows (PostgreSQL; a no-op on SQLite)."""
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


# --- emails -------------------------------------------------------------------------------


# --- the chunk ----------------------------------------------------------------------------


def _problem_with(subscription: Subscription) -> str | None:
    """Why this subscription cannot be placed at all (None when it can)."""
    if not subscription.bill_address:
        return _("The subscription has no billing address.")
    shipping = subscription.shipping_method
    if shipping.requires_address and not subscription.ship_address:
        return _("The subscription has no delivery address.")
    if not shipping.active or shipping.shop_id != subscription.shop_id:
        return _("The shipping method %(name)s is no longer available.") % {"name": shipping.name}
    payment = subscription.payment_method
    if (
        not payment.active
        or payment.shop_id != subscription.shop_id
        or payment.kind not in (PaymentMethodKind.MANUAL, PaymentMethodKind.STRIPE)
    ):
        return _("The payment method %(name)s can no longer be used.") % {"name": payment.name}
    if not subscription.customer.email:
        return _("The customer has no email address.")
    return None


def order_number(proxy_order_id: int) -> str:
    """Unique because an order belongs to exactly one proxy order."""
    return f"S{proxy_order_id:06d}"


def _guarded_update(ids: list[int], states: Sequence[str], **values: Any) -> None:
    """Move these proxy orders out of `states`; all of them, or the transaction fails."""
    if not ids:
        return
    changed = ProxyOrder.objects.filter(pk__in=ids, state__in=list(states)).update(**values)
    if changed != len(ids):
        raise RuntimeError("proxy orders changed under a placement that held their locks")


def _mark_placed(
    pairs: list[tuple[int, int]], states: Sequence[str], now: datetime, counted: bool
) -> None:
    """Guarded placed transition with each proxy order's own order id, in one statement
    (`counted`: also marked as counted in the cycle's allocation)."""
    moment = connection.ops.adapt_datetimefield_value(now)
    assign = "state = %s, placed_at = %s, updated_at = %s, reason = '', order_id = {value}"
    changed = update_each(
        ProxyOrder,
        values=dict(pairs),
        assign=assign + (", allocated = %s" if counted else ""),
        assign_params=[ProxyOrderState.PLACED, moment, moment, *([True] if counted else [])],
        where=f"state IN ({', '.join(['%s'] * len(states))}) AND order_id IS NULL",
        where_params=list(states),
    )
    if changed != len(pairs):
        raise RuntimeError("proxy orders changed under a placement that held their locks")


class _NotOneChunk(Exception):
    """The cycle's eligible proxy orders are more than a chunk, or none: its allocation is
    not stored with its first chunk."""


# What placement reads of a proxy order and its subscription, customer and methods.
_SHIPPING_FIELDS = ("shop_id", "name", "fee", "active", "requires_address")
_PAYMENT_FIELDS = ("shop_id", "name", "kind", "fee", "fee_percent", "active")
_CUSTOMER_FIELDS = ("email", "user_id", "language", "first_name")
_SUBSCRIPTION_FIELDS = (
    "shop_id",
    "customer_id",
    "created_at",
    "bill_address",
    "ship_address",
    "shipping_method_id",
    "payment_method_id",
)


def _load_proxies(qs: QuerySet[ProxyOrder], *, at_most: int | None = None) -> list[SimpleNamespace]:
    """The chunk's proxy orders as plain objects shaped like the models (`proxy.subscription
    .customer.email`, …), read with one query as tuples: a model instance per row and
    relation costs more than the rest of the chunk's Python work. Methods are shared by
    many subscriptions, so one object per method. `_NotOneChunk` when there are more than
    `at_most` (read at most one more)."""
    fields = (
        ["pk", "subscription_id", "allocated"]
        + [f"subscription__{f}" for f in _SUBSCRIPTION_FIELDS]
        + [f"subscription__customer__{f}" for f in _CUSTOMER_FIELDS]
        + [f"subscription__shipping_method__{f}" for f in _SHIPPING_FIELDS]
        + [f"subscription__payment_method__{f}" for f in _PAYMENT_FIELDS]
    )
    a = 3 + len(_SUBSCRIPTION_FIELDS)
    b = a + len(_CUSTOMER_FIELDS)
    c = b + len(_SHIPPING_FIELDS)
    shipping: dict[int, SimpleNamespace] = {}
    payment: dict[int, SimpleNamespace] = {}
    proxies = []
    rows = qs.values_list(*fields)
    if at_most is not None:
        rows = rows[: at_most + 1]
        if len(rows) > at_most:
            raise _NotOneChunk
    for row in rows:
        sub = SimpleNamespace(id=row[1], **dict(zip(_SUBSCRIPTION_FIELDS, row[3:a], strict=True)))
        sub.customer = SimpleNamespace(
            id=sub.customer_id, **dict(zip(_CUSTOMER_FIELDS, row[a:b], strict=True))
        )
        sub.shipping_method = shipping.get(sub.shipping_method_id) or shipping.setdefault(
            sub.shipping_method_id,
            SimpleNamespace(
                id=sub.shipping_method_id, **dict(zip(_SHIPPING_FIELDS, row[b:c], strict=True))
            ),
        )
        sub.payment_method = payment.get(sub.payment_method_id) or payment.setdefault(
            sub.payment_method_id,
            SimpleNamespace(
                id=sub.payment_method_id, **dict(zip(_PAYMENT_FIELDS, row[c:], strict=True))
            ),
        )
        proxies.append(
            SimpleNamespace(pk=row[0], subscription_id=row[1], allocated=row[2], subscription=sub)
        )
    return proxies


@dataclass(frozen=True)
class _Loaded:
    """What a chunk reads besides its proxy orders, as `plan` takes it."""

    requests: list[Request]
    offers: dict[int, Offer]
    variants: dict[int, Variant]  # locked, in primary-key order


def _load_requests(
    *, order_cycle: OrderCycle, proxies: list[SimpleNamespace], first_come: bool
) -> _Loaded:
    """The proxy orders' lines and fees, and their variants locked (in primary-key order, so
    chunks running at once queue up instead of deadlocking) with their price and stock.
    With `first_come`, every proxy order is served first come (none takes a stored share)."""
    cycle_fees = list(order_cycle.fees.values_list("name", "kind", "amount"))
    sub_lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sub_id, variant_id, quantity in (
        SubscriptionLineItem.objects.filter(
            in_ids("subscription_id", (p.subscription_id for p in proxies))
        )
        .order_by("pk")
        .values_list("subscription_id", "variant_id", "quantity")
    ):
        sub_lines[sub_id].append((variant_id, quantity))
    variant_ids = sorted({v for lines in sub_lines.values() for v, _q in lines})
    variants_qs = (
        Variant.objects.filter(pk__in=variant_ids)
        .select_related("product")
        .annotate(sold_in_cycle=order_cycle_sells(order_cycle))
    )
    if connection.features.has_select_for_update:
        variants_qs = variants_qs.select_for_update(of=("self",))
    variants: dict[int, Variant] = {}
    offers: dict[int, Offer] = {}
    for v in variants_qs.order_by("pk"):
        variants[v.pk] = v
        offers[v.pk] = Offer(
            price=v.price,
            on_hand=v.on_hand,
            on_demand=v.on_demand,
            offered=v.sold_in_cycle and not v.is_deleted,
        )
    # The fees depend only on the cycle and the two methods: built once per pair.
    fees_by_methods: dict[tuple[int, int], tuple[Fee, ...]] = {}
    requests = []
    for proxy in proxies:
        sub = proxy.subscription
        methods = (sub.shipping_method_id, sub.payment_method_id)
        fees = fees_by_methods.get(methods)
        if fees is None:
            fees = fees_by_methods[methods] = tuple(
                fees_for(
                    cycle_fees=cycle_fees,
                    shipping=(sub.shipping_method.name, sub.shipping_method.fee),
                    payment=(
                        sub.payment_method.name,
                        sub.payment_method.fee,
                        sub.payment_method.fee_percent,
                    ),
                )
            )
        requests.append(
            Request(
                proxy_order_id=proxy.pk,
                subscription_id=proxy.subscription_id,
                subscription_created_at=sub.created_at,
                lines=tuple(sub_lines[proxy.subscription_id]),
                allocated=proxy.allocated and not first_come,
                fees=fees,
            )
        )
    return _Loaded(requests=requests, offers=offers, variants=variants)


def _new_order(
    *, proxy: SimpleNamespace, planned: ProxyOrderPlan, order_cycle: OrderCycle
) -> NewOrder:
    """The order a placed proxy order becomes, with the snapshot order sync compares with."""
    shop = order_cycle.shop
    sub = proxy.subscription
    assert planned.totals is not None
    return NewOrder(
        number=order_number(proxy.pk),
        shop_id=shop.pk,
        order_cycle_id=order_cycle.pk,
        customer_id=sub.customer_id,
        user_id=sub.customer.user_id,
        email=sub.customer.email,
        currency=shop.currency,
        shipping_method_id=sub.shipping_method_id,
        bill_address=sub.bill_address,
        ship_address=sub.ship_address,
        lines=[(ln.variant_id, ln.quantity, ln.asked, ln.price) for ln in planned.lines],
        totals=planned.totals,
        sync_snapshot={
            "line_items": {str(ln.variant_id): ln.quantity for ln in planned.lines},
            "shipping_method_id": sub.shipping_method_id,
            "payment_method_id": sub.payment_method_id,
            "bill_address": sub.bill_address,
            "ship_address": sub.ship_address,
        },
    )


def _held_for_first_come(
    *,
    order_cycle: OrderCycle,
    requests: Sequence[Request],
    offers: Mapping[int, Offer],
    shares: Shares,
    chunk: list[SimpleNamespace],
) -> dict[int, int]:
    """What the allocated proxy orders outside the chunk hold of the variants the chunk's
    first-come requests ask for (read only when there are such requests)."""
    variant_ids = first_come_variants(requests=requests, offers=offers)
    if not variant_ids:
        return {}
    return held_elsewhere(
        order_cycle=order_cycle,
        variant_ids=variant_ids,
        shares=shares,
        exclude=[p.pk for p in chunk],
    )


def _write_orders(
    *,
    placed: list[tuple[SimpleNamespace, ProxyOrderPlan]],
    order_cycle: OrderCycle,
    now: datetime,
) -> list[int]:
    """The placed proxy orders' orders (lines, fees) and pending payments of their totals,
    with the subscription's payment method. Returns the order ids in the order of `placed`."""
    orders = [
        _new_order(proxy=proxy, planned=planned, order_cycle=order_cycle)
        for proxy, planned in placed
    ]
    order_ids = orders_create_bulk(orders=orders, now=now)
    payments_create_pending(
        payments=[
            (order_id, proxy.subscription.payment_method_id, order.totals.total)
            for order_id, (proxy, _p), order in zip(order_ids, placed, orders, strict=True)
        ],
        now=now,
    )
    return order_ids


def _write_states(
    *,
    placed: list[tuple[int, int]],
    empty: list[int],
    failures: dict[int, str],
    states: Sequence[str],
    now: datetime,
    counted: bool = False,
) -> None:
    """The proxy orders' new states: placed with their order, empty, failed with the reason
    (`counted`: each also marked as counted in the allocation the chunk stored)."""
    _mark_placed(placed, states, now, counted)
    mark: dict[str, Any] = {"allocated": True} if counted else {}
    _guarded_update(
        empty,
        states,
        state=ProxyOrderState.EMPTY,
        reason=_("None of the products asked for were available."),
        **mark,
    )
    by_reason: dict[str, list[int]] = defaultdict(list)
    for proxy_id, reason in failures.items():
        by_reason[reason].append(proxy_id)
    for reason, ids in by_reason.items():
        _guarded_update(ids, states, state=ProxyOrderState.FAILED, reason=reason, **mark)


def _empty_email_context(
    *,
    proxy: SimpleNamespace,
    planned: ProxyOrderPlan,
    variants: dict[int, Variant],
    order_cycle: OrderCycle,
) -> dict[str, Any]:
    shop = order_cycle.shop
    sub = proxy.subscription
    return {
        "timezone": shop.timezone,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "cycle": {"name": order_cycle.name},
        "customer_name": buyer_name(sub.customer, sub.bill_address),
        "lines": [
            {
                "name": variants[line.variant_id].full_name if line.variant_id in variants else "?",
                "requested": line.asked,
            }
            for line in planned.lines
        ],
    }


def _buyer_emails(
    *,
    placed: list[tuple[SimpleNamespace, ProxyOrderPlan]],
    order_ids: list[int],
    empty: list[tuple[SimpleNamespace, ProxyOrderPlan]],
    variants: dict[int, Variant],
    order_cycle: OrderCycle,
) -> list[tuple[Any, ...]]:
    """The outbox rows: a placement email per order, an empty-order email per empty one."""
    shop = order_cycle.shop
    emails = [
        buyer_email_row(
            kind="placement",
            to=proxy.subscription.customer.email,
            language=proxy.subscription.customer.language,
            shop=shop,
            context=order_email_reference(order_id=order_id, timezone_name=shop.timezone),
        )
        for order_id, (proxy, _p) in zip(order_ids, placed, strict=True)
    ]
    emails += [
        buyer_email_row(
            kind="empty",
            to=proxy.subscription.customer.email,
            language=proxy.subscription.customer.language,
            shop=shop,
            context=_empty_email_context(
                proxy=proxy, planned=planned, variants=variants, order_cycle=order_cycle
            ),
        )
        for proxy, planned in empty
    ]
    return emails


def _place_chunk(
    *,
    order_cycle: OrderCycle,
    proxy_order_ids: Sequence[int] | None = None,
    after: int = 0,
    shares: Shares,
    now: datetime,
    states: Sequence[str],
    first_come: bool = False,
    send_emails: bool = True,
    allocate: bool = False,
) -> PlacementSummary:
    """Place these proxy orders in one transaction (see the module docstring): load, plan,
    reserve, write, notify.

    Which ones: `proxy_order_ids` (a task's chunk, an explicit request), those still
    eligible; or, without ids, the first CHUNK_SIZE eligible ones whose id is above `after`
    (a run walking the cycle: one query chooses and locks them, `walked` says which); or,
    with `allocate`, every eligible one of a cycle with no allocation yet, whose allocation
    is then computed from what the chunk read and stored with it (`_NotOneChunk` when they
    are more than a chunk, or none; IntegrityError when another worker stores it first).
    An allocated proxy order takes its stored share; the others, and all of them when
    `first_come` (explicit requests), are served from the stock not held for others. With
    `send_emails=False` the buyers' emails are written but their send is left to the caller
    (`unsent_email_ids`)."""
    summary = PlacementSummary()
    shop = order_cycle.shop
    with transaction.atomic():
        allocation = allocation_claim(order_cycle=order_cycle) if allocate else None
        # Load: the proxy orders still eligible (locked), their lines and variants (locked).
        eligible = eligible_proxy_orders(order_cycle=order_cycle, now=now, states=states)
        if allocate:
            # Every eligible proxy order is counted in the allocation: rows another
            # transaction holds are waited for, not passed by (no SKIP LOCKED).
            chosen = eligible.order_by("pk")
            if connection.features.has_select_for_update:
                chosen = chosen.select_for_update(of=("self",))
            proxies = _load_proxies(chosen, at_most=CHUNK_SIZE)
            if not proxies:
                raise _NotOneChunk
            for proxy in proxies:
                proxy.allocated = True
            summary.walked = [p.pk for p in proxies]
        elif proxy_order_ids is None:
            # SKIP LOCKED with LIMIT: rows another worker holds are passed by (it is placing
            # them), and fewer than CHUNK_SIZE rows means nothing eligible is left after them.
            chosen = _locking(eligible.filter(pk__gt=after).order_by("pk"))[:CHUNK_SIZE]
            proxies = _load_proxies(chosen)
            summary.walked = [p.pk for p in proxies]
        else:
            proxies = _load_proxies(
                _locking(eligible.filter(in_ids("pk", proxy_order_ids)).order_by("pk"))
            )
            summary.skipped = len(set(proxy_order_ids)) - len(proxies)
            if summary.skipped:
                summary.already_placed = _already_placed(
                    order_cycle=order_cycle,
                    proxy_order_ids=set(proxy_order_ids) - {p.pk for p in proxies},
                    now=now,
                    states=states,
                )
        if not proxies:
            return summary
        failures = {p.pk: problem for p in proxies if (problem := _problem_with(p.subscription))}
        loaded = _load_requests(order_cycle=order_cycle, proxies=proxies, first_come=first_come)
        if allocation is not None:
            # The allocation counts them all, those that fail to be placed included.
            shares = plan_shares(
                requests=loaded.requests, offers=loaded.offers, policy=allocation.policy
            )
            allocation_store(allocation=allocation, shares=shares)
        requests = [r for r in loaded.requests if r.proxy_order_id not in failures]

        # Plan: who gets what, and the totals (pure).
        decided = plan(
            requests=requests,
            offers=loaded.offers,
            shares=shares,
            held_elsewhere=_held_for_first_come(
                order_cycle=order_cycle,
                requests=requests,
                offers=loaded.offers,
                shares=shares,
                chunk=proxies,
            ),
            policy=shop.allocation_policy,
            currency=shop.currency,
        )
        by_id = {p.pk: p for p in proxies}
        placed = [(by_id[p.proxy_order_id], p) for p in decided.placed]
        empty = [(by_id[p.proxy_order_id], p) for p in decided.empty]

        # Reserve and write: one statement per table, by the apps owning them.
        stock_reserve_bulk(quantities=decided.reserve)
        order_ids = _write_orders(placed=placed, order_cycle=order_cycle, now=now)
        _write_states(
            placed=[(proxy.pk, o) for (proxy, _p), o in zip(placed, order_ids, strict=True)],
            empty=[proxy.pk for proxy, _p in empty],
            failures=failures,
            states=states,
            now=now,
            counted=allocate,
        )

        # Notify: the buyers' emails, in the outbox with everything else.
        email_ids = emails_queue_rows(
            rows=_buyer_emails(
                placed=placed,
                order_ids=order_ids,
                empty=empty,
                variants=loaded.variants,
                order_cycle=order_cycle,
            ),
            now=now,
            send=send_emails,
        )
        if allocate:
            # The chunk holds every eligible proxy order: nothing is left, the shop's summary
            # is due and is queued with it.
            shop_summary = placement_summary_queue_if_done(
                order_cycle=order_cycle, now=now, send=send_emails, nothing_left=True
            )
            email_ids += [shop_summary.pk] if shop_summary is not None else []
        if not send_emails:
            summary.unsent_email_ids = email_ids

        summary.placed = [proxy.pk for proxy, _p in placed]
        summary.shortages = [proxy.pk for proxy, planned in placed if planned.short]
        summary.empty = [proxy.pk for proxy, _p in empty]
        summary.failed.update(failures)
    return summary


def _already_placed(
    *, order_cycle: OrderCycle, proxy_order_ids: set[int], now: datetime, states: Sequence[str]
) -> list[int]:
    """Of the proxy orders a chunk did not get, those already placed: with an order, or still
    eligible but locked by a worker placing them right now (SKIP LOCKED passed them by)."""
    being_placed = eligible_proxy_orders(order_cycle=order_cycle, now=now, states=states).filter(
        pk__in=proxy_order_ids
    )
    return sorted(
        ProxyOrder.objects.filter(pk__in=proxy_order_ids)
        .filter(Q(order__isnull=False) | Q(pk__in=being_placed.values("pk")))
        .values_list("pk", flat=True)
    )


def _place_chunk_isolated(
    *,
    order_cycle: OrderCycle,
    proxy_order_ids: Sequence[int] | None = None,
    after: int = 0,
    shares: Shares,
    now: datetime,
    states: Sequence[str],
    first_come: bool = False,
    send_emails: bool = True,
) -> PlacementSummary:
    """A chunk (`_place_chunk`); if it fails as a whole, each proxy order alone, so one bad
    subscription (data the checks above did not foresee) never stops the others."""
    try:
        return _place_chunk(
            order_cycle=order_cycle,
            proxy_order_ids=proxy_order_ids,
            after=after,
            shares=shares,
            now=now,
            states=states,
            first_come=first_come,
            send_emails=send_emails,
        )
    except Exception:
        if proxy_order_ids is not None and len(proxy_order_ids) == 1:
            raise
        logger.exception("placement chunk of cycle %s failed; placing one by one", order_cycle.pk)
    summary = PlacementSummary()
    if proxy_order_ids is None:
        proxy_order_ids = list(
            eligible_proxy_orders(order_cycle=order_cycle, now=now, states=states)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:CHUNK_SIZE]
        )
        summary.walked = list(proxy_order_ids)
    for proxy_id in proxy_order_ids:
        try:
            summary.merge(
                _place_chunk(
                    order_cycle=order_cycle,
                    proxy_order_ids=[proxy_id],
                    shares=shares,
                    now=now,
                    states=states,
                    first_come=first_come,
                    send_emails=send_emails,
                )
            )
        except Exception as exc:
            logger.exception("placement of proxy order %s failed", proxy_id)
            reason = _("Placement failed: %(error)s") % {"error": str(exc)[:500]}
            with transaction.atomic():
                failed = ProxyOrder.objects.filter(
                    pk=proxy_id, state__in=list(states), order__isnull=True
                ).update(state=ProxyOrderState.FAILED, reason=reason)
            if failed:
                summary.failed[proxy_id] = reason
    return summary


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def place_chunk(
    *,
    order_cycle_id: int,
    proxy_order_ids: Sequence[int],
    now: datetime | None = None,
    summarize: bool = True,
) -> PlacementSummary:
    """Place one chunk of a cycle (the unit a task runs) with the cycle's stored allocation;
    queue the shop's summary when the cycle has nothing left to place."""
    now = now or timezone.now()
    order_cycle = OrderCycle.objects.select_related("shop", "allocation").get(pk=order_cycle_id)
    if not order_cycle_is_open(order_cycle, now=now):
        return PlacementSummary(skipped=len(proxy_order_ids))
    summary = _place_chunk_isolated(
        order_cycle=order_cycle,
        proxy_order_ids=proxy_order_ids,
        shares=stored_shares(order_cycle=order_cycle, now=now),
        now=now,
        states=CYCLE_STATES,
    )
    if summarize:
        placement_summary_queue_if_done(
            order_cycle=order_cycle, now=now, already_placed=len(summary.already_placed)
        )
    return summary


def place_cycle(
    *,
    order_cycle: OrderCycle,
    now: datetime | None = None,
    fan_out: bool = False,
    on_chunk: Callable[[int], object] | None = None,
) -> PlacementSummary:
    """Place every eligible pending proxy order of an open cycle (idempotent: safe to run
    again at any time; what is placed stays placed and is not placed twice).

    The cycle's allocation is stored before the first chunk (or read, when an earlier run
    stored it); a cycle whose eligible proxy orders fit in one chunk stores it with that
    chunk, computed from what the chunk read. With `fan_out`, each chunk is enqueued as a
    task (workers share the cycle) instead of being placed here. Does nothing for a cycle
    that is not open or whose shop has subscriptions disabled. `on_chunk` is told how many
    proxy orders each chunk handled (a terminal's progress bar).
    """
    now = now or timezone.now()
    order_cycle = OrderCycle.objects.select_related("shop", "allocation").get(pk=order_cycle.pk)
    if not order_cycle_is_open(order_cycle, now=now) or not order_cycle.shop.enable_subscriptions:
        return PlacementSummary()
    if not fan_out and not allocation_is_stored(order_cycle):
        whole = _place_in_one_chunk(order_cycle=order_cycle, now=now)
        if whole is not None:
            emails_send_after_commit(email_ids=whole.unsent_email_ids)  # the summary's too
            if on_chunk is not None:
                on_chunk(len(whole.walked))
            return whole
    summary = PlacementSummary()
    # No separate "anything eligible?" query: storing the allocation (or reading it) comes
    # first anyway, and a cycle with nothing left simply yields no chunk.
    shares = stored_shares(order_cycle=order_cycle, now=now)
    if fan_out:
        from cadence.subscriptions.tasks import place_chunk_task

        eligible = eligible_proxy_orders(order_cycle=order_cycle, now=now)
        for chunk in id_chunks(eligible, CHUNK_SIZE):
            place_chunk_task.enqueue(order_cycle_id=order_cycle.pk, proxy_order_ids=chunk)
            summary.queued_chunks += 1
        if not summary.queued_chunks:
            placement_summary_queue_if_done(order_cycle=order_cycle, now=now)
        return summary
    # Each chunk's emails are sent when the next chunk starts, the last chunk's with the
    # shop's summary: one send task fewer per cycle (a full chunk's go on their own, as
    # whether it was the last is only known by asking for the next). Rows a crash leaves
    # unsent meanwhile are sent by the worker's catch-up, as every queued row is.
    unsent: list[int] = []
    after = 0
    while True:
        emails_send_after_commit(email_ids=unsent)
        # Walked in id order, each chunk chosen and locked by the query that loads it.
        done = _place_chunk_isolated(
            order_cycle=order_cycle,
            after=after,
            shares=shares,
            now=now,
            states=CYCLE_STATES,
            send_emails=False,
        )
        unsent = done.unsent_email_ids
        summary.merge(done)
        if on_chunk is not None and done.walked:
            on_chunk(len(done.walked))
        if len(done.walked) < CHUNK_SIZE:
            break
        after = done.walked[-1]
    shop_summary = placement_summary_queue_if_done(
        order_cycle=order_cycle, now=now, already_placed=len(summary.already_placed), send=False
    )
    emails_send_after_commit(email_ids=unsent + ([shop_summary.pk] if shop_summary else []))
    return summary


def _place_in_one_chunk(*, order_cycle: OrderCycle, now: datetime) -> PlacementSummary | None:
    """A cycle with no allocation yet whose eligible proxy orders fit in one chunk: placed in
    one transaction that also stores its allocation, computed from the chunk's own reads
    (`planning.plan_shares`, the division the allocation service would read from the
    database), sparing that service's transaction and its queries. None when that does not
    apply, nothing written: more than a chunk is eligible, or nothing; another worker
    stored the allocation first; or the chunk failed (placement goes on chunk by chunk,
    where one bad subscription is set apart)."""
    try:
        return _place_chunk(
            order_cycle=order_cycle,
            shares={},
            now=now,
            states=CYCLE_STATES,
            send_emails=False,
            allocate=True,
        )
    except _NotOneChunk:
        return None
    except IntegrityError:
        return None  # the allocation row another worker claimed: read from now on
    except Exception:
        logger.exception("placement of cycle %s in one chunk failed", order_cycle.pk)
        return None


def place_proxy_orders(
    *, proxy_order_ids: list[int], now: datetime | None = None
) -> PlacementSummary:
    """Place these proxy orders at once (unpause, resume, retry of an empty or failed one),
    with the same rules and emails as a cycle's placement. They are served first come from
    the stock not held for the cycle's other allocated proxy orders (the allocation is
    stored first if the cycle has none yet).

    Proxy orders whose cycle is not open, or that are not eligible (subscription paused,
    canceled, out of range, shop with subscriptions disabled, already placed), are skipped
    and counted in `skipped`. Call it after the caller's transaction committed.
    """
    now = now or timezone.now()
    summary = PlacementSummary()
    by_cycle: dict[int, list[int]] = defaultdict(list)
    for proxy_id, cycle_id in (
        ProxyOrder.objects.filter(pk__in=list(proxy_order_ids))
        .order_by("pk")
        .values_list("pk", "order_cycle_id")
    ):
        by_cycle[cycle_id].append(proxy_id)
    summary.skipped = len(set(proxy_order_ids)) - sum(len(v) for v in by_cycle.values())
    for order_cycle in OrderCycle.objects.select_related("shop", "allocation").filter(
        pk__in=list(by_cycle)
    ):
        ids = by_cycle[order_cycle.pk]
        if not order_cycle_is_open(order_cycle, now=now):
            summary.skipped += len(ids)
            continue
        shares = stored_shares(order_cycle=order_cycle, now=now)
        for chunk in _chunks(ids, CHUNK_SIZE):
            summary.merge(
                _place_chunk_isolated(
                    order_cycle=order_cycle,
                    proxy_order_ids=chunk,
                    shares=shares,
                    now=now,
                    states=EXPLICIT_STATES,
                    first_come=True,
                )
            )
    return summary


# --- the shop's summary -------------------------------------------------------------------


def placement_summary_key(order_cycle_id: int) -> str:
    return f"summary:placement:{order_cycle_id}"


def placement_summary_queue_if_done(
    *,
    order_cycle: OrderCycle,
    now: datetime,
    already_placed: int = 0,
    send: bool = True,
    nothing_left: bool = False,
) -> Email | None:
    """Queue the shop's one placement summary for the cycle once nothing is left to place.

    Built from the proxy orders' states in the database, so it covers every chunk and every
    worker; the `dedup_key` makes it exist once however many workers get here.
    `already_placed` is how many proxy orders the run that completes the cycle found already
    placed (by an earlier run or a worker racing it); they are counted among the placed too.
    With `send=False` the caller sends the email (`emails_send_after_commit`). With
    `nothing_left`, the caller's transaction holds every proxy order still eligible (and has
    placed them): the summary is due, unless an earlier one was queued (its key).
    """
    shop = order_cycle.shop
    if not shop.contact_email or not shop.enable_subscriptions:
        return None
    # The summary helpers shared with the confirmation summary.
    from cadence.subscriptions.services.emails import (
        SummaryLists,
        summary_due,
        summary_orders,
        with_shortage,
    )

    if not nothing_left:
        left = eligible_proxy_orders(order_cycle=order_cycle, now=now)
        if not summary_due(left=left, key=placement_summary_key(order_cycle.pk)):
            return None

    worked = ProxyOrder.objects.filter(
        order_cycle=order_cycle,
        state__in=[
            ProxyOrderState.PLACED,
            ProxyOrderState.CONFIRMED,
            ProxyOrderState.EMPTY,
            ProxyOrderState.FAILED,
        ],
    )
    # Counted in the database; only the rows the lists show are read (most orders of a
    # cycle are placed in full and are only counted), each with its shortage flag.
    placed = worked.filter(order__isnull=False).count()
    lists = SummaryLists("shortages", "empty", "failed")
    for row in summary_orders(
        with_shortage(worked).filter(
            Q(short=True) | Q(state__in=[ProxyOrderState.EMPTY, ProxyOrderState.FAILED])
        )
    ):
        if row.short:
            lists.add("shortages", row)
        if row.state == ProxyOrderState.EMPTY:
            lists.add("empty", row)
        if row.state == ProxyOrderState.FAILED:
            lists.add("failed", row, reason=row.reason)
    if not (placed or lists.counts["empty"] or lists.counts["failed"]):
        return None
    context = {
        "timezone": shop.timezone,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "cycle": {"name": order_cycle.name, "opens_at": order_cycle.opens_at.isoformat()},
        "placed": placed,
        "already_placed": min(already_placed, placed),
        **lists.context(),
    }
    return email_queue(
        to=shop.contact_email,
        kind="placement_summary",
        context=context,
        language=shop.language,
        from_name=shop.name,
        dedup_key=placement_summary_key(order_cycle.pk),
        send=send,
    )
