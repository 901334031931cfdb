"""Reads on subscriptions: lists with derived status, details, estimates and availability."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
from cadence.cycles.selectors import current_q, variant_ids_in_not_closed_cycles
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager
from cadence.errors import NotFound, ValidationFailed
from cadence.subscriptions.domain import Estimate, Status, estimate, status_of
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription


def status_q(status: str, now: datetime) -> Q:
    """The SQL form of `domain.status_of` (same order of precedence)."""
    live = Q(canceled_at__isnull=True)
    running = live & Q(paused_at__isnull=True)
    begun = running & Q(begins_at__lte=now)
    if status == Status.CANCELED:
        return Q(canceled_at__isnull=False)
    if status == Status.PAUSED:
        return live & Q(paused_at__isnull=False)
    if status == Status.PENDING:
        return running & Q(begins_at__gt=now)
    if status == Status.ENDED:
        return begun & Q(ends_at__lt=now)
    if status == Status.ACTIVE:
        return begun & (Q(ends_at__isnull=True) | Q(ends_at__gte=now))
    raise ValidationFailed(
        {"status": [_("Status must be one of active, pending, paused, ended, canceled")]}
    )


def subscription_status(subscription: Subscription, *, now: datetime) -> str:
    """The status `domain.status_of` derives from the subscription's dates at `now`."""
    return str(
        status_of(
            canceled_at=subscription.canceled_at,
            paused_at=subscription.paused_at,
            begins_at=subscription.begins_at,
            ends_at=subscription.ends_at,
            now=now,
        )
    )


def _with_relations(qs: QuerySet[Subscription]) -> QuerySet[Subscription]:
    return qs.select_related(
        "shop", "customer", "schedule", "payment_method", "shipping_method"
    ).prefetch_related("line_items__variant__product")


def subscriptions_for_shop(
    *,
    shop: Enterprise,
    status: str | None = None,
    q: str | None = None,
    schedule_id: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Subscription]:
    """The shop's subscriptions, oldest first, filtered by derived status, by customer email or
    name (`q`), and by schedule."""
    now = now or timezone.now()
    qs = Subscription.objects.filter(shop=shop)
    if status:
        qs = qs.filter(status_q(status, now))
    if q:
        term = q.strip()
        qs = qs.filter(
            Q(customer__email__icontains=term)
            | Q(customer__first_name__icontains=term)
            | Q(customer__last_name__icontains=term)
        )
    if schedule_id is not None:
        qs = qs.filter(schedule_id=schedule_id)
    return _with_relations(qs).order_by("created_at", "id")


def live_subscriptions_of_customer(
    *, customer: Customer, now: datetime | None = None
) -> QuerySet[Subscription]:
    """The customer's subscriptions that still count: active, paused or not begun yet (the
    ones that keep the customer on the shop's list), earliest start first, with their
    schedule."""
    now = now or timezone.now()
    live = (
        status_q(Status.ACTIVE, now) | status_q(Status.PAUSED, now) | status_q(Status.PENDING, now)
    )
    return (
        Subscription.objects.filter(customer=customer)
        .filter(live)
        .select_related("schedule")
        .order_by("begins_at", "id")
    )


def subscription_detail(*, subscription_id: int, shops: QuerySet | None = None) -> Subscription:
    """One subscription with what its page needs; `shops` scopes it (NotFound outside)."""
    qs = Subscription.objects.filter(pk=subscription_id)
    if shops is not None:
        qs = qs.filter(shop__in=shops)
    subscription = _with_relations(qs).first()
    if subscription is None:
        raise NotFound()
    return subscription


def proxy_orders_of(*, subscription: Subscription) -> QuerySet[ProxyOrder]:
    return subscription.proxy_orders.select_related("order_cycle", "order").order_by(
        "order_cycle__closes_at", "id"
    )


def placed_open_proxy_orders(*, subscription: Subscription, now: datetime) -> QuerySet[ProxyOrder]:
    """Proxy orders whose order is placed in a cycle not closed yet (what pause and cancel ask
    about)."""
    return subscription.proxy_orders.filter(
        current_q(now, prefix="order_cycle__"),
        state=ProxyOrderState.PLACED,
        order__state="complete",
    ).select_related("order", "order_cycle")


# --- a cycle's results in the back office ----------------------------------------------------

# The lists of the cycle's results page, in the order it shows them. They sort the proxy
# orders as the shop's placement and confirmation summaries do (`placement_summary_queue_if_done`,
# `confirmation_summary_queue_if_done`), plus the orders placed in full, which the placement
# email only counts.
PLACEMENT_OUTCOMES = ("placed_in_full", "shortages", "empty", "failed")
CONFIRMATION_OUTCOMES = (
    "paid_orders",
    "to_collect",
    "to_charge",
    "failed_payment",
    "awaiting_authentication",
    "voided",
    "not_placed",
)


def cycle_results(*, order_cycle: OrderCycle, limit: int) -> dict:
    """The cycle's subscription orders sorted by outcome, as the shop's summaries sort them:
    `placement` (placed in full, with shortages, empty, failed) and `confirmation` (paid by
    card, to be paid by hand, still to charge, payment failed, awaiting authentication,
    voided, failed without an order). Each is `SummaryLists.context()` with rows that also
    carry `order_id`, at most `limit` rows per list, plus the `placed` and `confirmed` totals
    and `to_confirm` (placed orders confirmation has not reached yet); `waiting` and
    `skipped` count the proxy orders not placed yet and those skipped.

    Two queries for a cycle of up to 2,000 proxy orders; a bigger one streams the rest (the
    proxy orders are read once, in flat memory)."""
    # The summaries' own reading of proxy orders, shared with the emails (imported here: the
    # emails module reads these selectors).
    from django.db.models import Count

    from cadence.orders.models import OrderState
    from cadence.subscriptions.services.emails import (
        SummaryLists,
        confirmation_outcome,
        summary_orders,
        with_shortage,
    )

    class _Lists(SummaryLists):
        def add(self, name: str, order, *, reason: str = "") -> None:
            self.counts[name] += 1
            if len(self.rows[name]) < limit:
                self.rows[name].append(
                    {
                        "number": order.number,
                        "customer": order.customer,
                        "reason": reason,
                        "order_id": order.order_id,
                    }
                )

    placement, confirmation = _Lists(*PLACEMENT_OUTCOMES), _Lists(*CONFIRMATION_OUTCOMES)
    placed = confirmed = to_confirm = 0
    for row in summary_orders(with_shortage(ProxyOrder.objects.filter(order_cycle=order_cycle))):
        # Placement: every proxy order placement has dealt with.
        if row.state in (ProxyOrderState.PENDING, ProxyOrderState.CANCELED):
            continue
        if row.order_id:
            placed += 1
            placement.add("shortages" if row.short else "placed_in_full", row)
        if row.state == ProxyOrderState.EMPTY:
            placement.add("empty", row)
        if row.state == ProxyOrderState.FAILED and not (
            row.order_id and row.order_state == OrderState.CONFIRMED
        ):
            placement.add("failed", row, reason=row.reason)
        if row.state == ProxyOrderState.PLACED and row.order_state == OrderState.COMPLETE:
            to_confirm += 1
        # Confirmation: the confirmed and failed ones.
        if row.state not in (ProxyOrderState.CONFIRMED, ProxyOrderState.FAILED):
            continue
        outcome = confirmation_outcome(row)
        if outcome is None:
            continue
        name, reason = outcome
        if name != "not_placed":
            confirmed += 1
        if name:
            confirmation.add(name, row, reason=reason)
    counts = dict(
        ProxyOrder.objects.filter(
            order_cycle=order_cycle,
            state__in=[ProxyOrderState.PENDING, ProxyOrderState.CANCELED],
        )
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "placement": {"placed": placed, **placement.context()},
        "confirmation": {
            "confirmed": confirmed,
            "to_confirm": to_confirm,
            **confirmation.context(),
        },
        "waiting": counts.get(ProxyOrderState.PENDING, 0),
        "skipped": counts.get(ProxyOrderState.CANCELED, 0),
    }


def line_item_available(
    subscription: Subscription, *, now: datetime | None = None
) -> dict[int, bool]:
    """Per line id: the variant is not deleted and is offered by an open or upcoming cycle of
    the schedule (otherwise the line shows a warning and gets nothing at placement)."""
    offered = variant_ids_in_not_closed_cycles(schedule=subscription.schedule, now=now)
    return {
        line.pk: (not line.variant.is_deleted) and line.variant_id in offered
        for line in subscription.line_items.all()
    }


# --- the back office's subscription form -----------------------------------------------------


def subscription_for_form(*, shop: Enterprise, subscription_id: int) -> Subscription | None:
    """One of the shop's subscriptions with what its form shows (customer, schedule, methods,
    lines with their variants); None when the shop has no such subscription."""
    return _with_relations(Subscription.objects.filter(shop=shop, pk=subscription_id)).first()


def variants_for_subscription_form(
    *, shop: Enterprise, ids: Iterable[int], subscription: Subscription | None = None
) -> dict:
    """The variants `ids` by id, as a subscription's form shows its lines: those the shop may
    sell (even deleted since) and those already on `subscription`. An id of anything else is
    left out, so no other shop's product is ever named. One query."""
    from cadence.catalog.models import Variant
    from cadence.catalog.selectors import variants_sellable_by

    ids = list(ids)
    if not ids:
        return {}
    allowed = Q(pk__in=variants_sellable_by(shop, include_deleted=True).values("pk"))
    if subscription is not None:
        allowed |= Q(pk__in=subscription.line_items.values("variant_id"))
    return Variant.objects.filter(allowed, pk__in=ids).select_related("product").in_bulk()


def estimate_of_values(
    *,
    shop: Enterprise,
    schedule_id: int | None,
    shipping_method=None,
    payment_method=None,
    lines: Iterable[tuple] = (),
    now: datetime | None = None,
) -> Estimate:
    """The estimate of the next delivery of a subscription not saved yet, from plain values:
    (variant, quantity) lines, the schedule's id and the methods (either may be missing).
    Computed as `subscriptions_estimates` computes a saved one's: three queries."""
    now = now or timezone.now()
    cycle = _next_cycles([schedule_id], now).get(schedule_id) if schedule_id else None
    counted = [
        (variant.price, quantity)
        for variant, quantity in lines
        if not variant.is_deleted and (cycle is None or variant.pk in cycle.offered)
    ]
    return estimate(
        lines=counted,
        cycle_fees=cycle.fees if cycle is not None else (),
        shipping=(shipping_method.name, shipping_method.fee) if shipping_method else None,
        payment=(
            (payment_method.name, payment_method.fee, payment_method.fee_percent)
            if payment_method
            else None
        ),
        currency=shop.currency,
    )


def order_update_issues_named(issues: Iterable[dict]) -> list[dict]:
    """The order update issues `subscription_update` returns, each with its order's `number`
    and its cycle's `cycle_name`, for a page to list them. One query."""
    from cadence.orders.models import Order

    issues = list(issues)
    orders = (
        Order.objects.filter(pk__in={issue["order_id"] for issue in issues})
        .select_related("order_cycle")
        .in_bulk()
    )
    named = []
    for issue in issues:
        order = orders.get(issue["order_id"])
        named.append(
            {
                **issue,
                "number": order.number if order else str(issue["order_id"]),
                "cycle_name": order.order_cycle.name if order else "",
            }
        )
    return named


@dataclass(frozen=True)
class _NextCycle:
    fees: tuple[tuple[str, str, Decimal], ...]
    offered: frozenset[int]


def _next_cycles(schedule_ids: Iterable[int], now: datetime) -> dict[int, _NextCycle]:
    """Per schedule id: the fees and offered variants of its next cycle not closed yet (the
    one `next_cycle_of_schedule` picks). Three queries whatever the number of schedules."""
    through = Schedule.order_cycles.through
    first: dict[int, int] = {}
    for schedule_id, cycle_id in (
        through.objects.filter(
            current_q(now, prefix="ordercycle__"), schedule_id__in=list(set(schedule_ids))
        )
        .order_by("ordercycle__closes_at", "ordercycle_id")
        .values_list("schedule_id", "ordercycle_id")
    ):
        first.setdefault(schedule_id, cycle_id)
    cycle_ids = set(first.values())
    fees: dict[int, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for cycle_id, name, kind, amount in (
        OrderCycleFee.objects.filter(order_cycle_id__in=cycle_ids)
        .order_by("id")
        .values_list("order_cycle_id", "name", "kind", "amount")
    ):
        fees[cycle_id].append((name, kind, amount))
    offered: dict[int, set[int]] = defaultdict(set)
    for cycle_id, variant_id in OrderCycle.variants.through.objects.filter(
        ordercycle_id__in=cycle_ids
    ).values_list("ordercycle_id", "variant_id"):
        offered[cycle_id].add(variant_id)
    return {
        schedule_id: _NextCycle(tuple(fees[cycle_id]), frozenset(offered[cycle_id]))
        for schedule_id, cycle_id in first.items()
    }


def _estimate_of(subscription: Subscription, cycle: _NextCycle | None) -> Estimate:
    # Lines as placement in the next cycle will build them: the variant's current price, and
    # nothing for a deleted variant or one the cycle does not offer. With no cycle to come
    # there is nothing to check against: every line that is not deleted counts.
    lines = [
        (line.variant.price, line.quantity)
        for line in subscription.line_items.all()
        if not line.variant.is_deleted and (cycle is None or line.variant_id in cycle.offered)
    ]
    shipping, payment = subscription.shipping_method, subscription.payment_method
    return estimate(
        lines=lines,
        cycle_fees=cycle.fees if cycle is not None else (),
        shipping=(shipping.name, shipping.fee),
        payment=(payment.name, payment.fee, payment.fee_percent),
        currency=subscription.shop.currency,
    )


def subscriptions_estimates(
    subscriptions: Iterable[Subscription], *, now: datetime | None = None
) -> dict[int, Estimate]:
    """Per subscription id: the estimate of its next delivery, computed from current prices,
    offers and fees as placement will compute the order (see `domain.estimate`). For
    subscriptions read with `_with_relations` (a list page or a detail) this costs three
    queries in all."""
    now = now or timezone.now()
    subscriptions = list(subscriptions)
    cycles = _next_cycles((s.schedule_id for s in subscriptions), now)
    return {s.pk: _estimate_of(s, cycles.get(s.schedule_id)) for s in subscriptions}


def subscription_estimates(
    subscription: Subscription, *, now: datetime | None = None
) -> dict[str, Decimal]:
    """The estimated items, fees and total of the next delivery of one subscription."""
    est = subscriptions_estimates([subscription], now=now)[subscription.pk]
    return {"items": est.items, "fees": est.fees, "total": est.total}


# --- the back office's subscriptions list and subscription page ------------------------------


def status_case(now: datetime):
    """The derived status as an SQL expression (`status_q`'s precedence), to sort by."""
    from django.db.models import Case, CharField, Value, When

    order = (Status.CANCELED, Status.PAUSED, Status.PENDING, Status.ENDED, Status.ACTIVE)
    return Case(
        *(When(status_q(status, now), then=Value(str(status))) for status in order),
        default=Value(str(Status.ACTIVE)),
        output_field=CharField(),
    )


def subscriptions_table_for_shop(
    *,
    shop: Enterprise,
    status: str | None = None,
    q: str | None = None,
    schedule_id: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Subscription]:
    """`subscriptions_for_shop` with what a list shows and sorts by, computed in the same
    query: `status_name`, `line_count`, and the next delivery still to come (its cycle's
    `next_closes_at` and `next_cycle_name`; a skipped one does not count)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from cadence.subscriptions.models import SubscriptionLineItem

    now = now or timezone.now()
    lines = (
        SubscriptionLineItem.objects.filter(subscription=OuterRef("pk"))
        .order_by()
        .values("subscription")
        .annotate(n=Count("pk"))
        .values("n")
    )
    upcoming = (
        ProxyOrder.objects.filter(
            current_q(now, prefix="order_cycle__"), subscription=OuterRef("pk")
        )
        .exclude(state=ProxyOrderState.CANCELED)
        .order_by("order_cycle__closes_at", "id")
    )
    return subscriptions_for_shop(
        shop=shop, status=status, q=q, schedule_id=schedule_id, now=now
    ).annotate(
        status_name=status_case(now),
        line_count=Coalesce(Subquery(lines, output_field=IntegerField()), Value(0)),
        next_closes_at=Subquery(upcoming.values("order_cycle__closes_at")[:1]),
        next_cycle_name=Subquery(upcoming.values("order_cycle__name")[:1]),
    )


def subscription_events(*, subscription: Subscription) -> QuerySet:
    """The subscription's audit trail, newest first, with who did each thing."""
    return subscription.events.select_related("actor").order_by("-created_at", "-id")


@dataclass(frozen=True)
class EventReferences:
    """Names of what audit events refer to by id, read in one query per kind."""

    payment_methods: dict[int, str]
    shipping_methods: dict[int, str]
    variants: dict[int, str]
    cycles: dict[int, str]
    orders: dict[int, str]


def _ids(values: Iterable) -> set[int]:
    found = set()
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, str) and value.isdigit():
            found.add(int(value))
    return found


def event_references(events: Iterable) -> EventReferences:
    """What `events` name by id (methods, variants, cycles, orders), whatever the shop: the
    events are already the shop's own. Five queries at most, whatever the number of events."""
    from cadence.catalog.models import Variant
    from cadence.orders.models import Order, ShippingMethod
    from cadence.payments.models import PaymentMethod

    wanted: dict[str, list] = defaultdict(list)
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        wanted["cycles"].append(data.get("order_cycle_id"))
        wanted["orders"].append(data.get("order_id"))
        for key in ("canceled_orders", "kept_orders"):
            wanted["orders"].extend(data.get(key) or [])
        for issue in data.get("order_update_issues") or []:
            if isinstance(issue, dict):
                wanted["orders"].append(issue.get("order_id"))
                wanted["cycles"].append(issue.get("order_cycle_id"))
        wanted["variants"].extend(
            (data.get("line_items") or {}) if isinstance(data.get("line_items"), dict) else []
        )
        changes = data.get("changes")
        if not isinstance(changes, dict):
            changes = {}
        for key, kind in (("payment_method_id", "payments"), ("shipping_method_id", "shippings")):
            change = changes.get(key) or {}
            if isinstance(change, dict):
                wanted[kind].extend([change.get("from"), change.get("to")])
        change = changes.get("line_items") or {}
        if isinstance(change, dict):
            for side in (change.get("from") or [], change.get("to") or []):
                wanted["variants"].extend(
                    line.get("variant_id") for line in side if isinstance(line, dict)
                )

    def names(model, kind: str, label) -> dict[int, str]:
        ids = _ids(wanted[kind])
        if not ids:
            return {}
        qs = model.objects.filter(pk__in=ids)
        if model is Variant:
            qs = qs.select_related("product")
        return {obj.pk: label(obj) for obj in qs}

    return EventReferences(
        payment_methods=names(PaymentMethod, "payments", lambda m: m.name),
        shipping_methods=names(ShippingMethod, "shippings", lambda m: m.name),
        variants=names(Variant, "variants", str),
        cycles=names(OrderCycle, "cycles", lambda c: c.name),
        orders=names(Order, "orders", lambda o: o.number),
    )


def subscription_for_manager(*, user, subscription_id: int) -> Subscription:
    """The subscription if the user manages its shop (or is staff); raises NotFound otherwise."""
    return object_for_manager(
        user=user,
        queryset=Subscription.objects.select_related("shop"),
        pk=subscription_id,
        label=_("Subscription"),
    )


def proxy_order_for_manager(*, user, proxy_order_id: int) -> ProxyOrder:
    """The proxy order if the user manages its subscription's shop (or is staff); raises
    NotFound otherwise."""
    return object_for_manager(
        user=user,
        queryset=ProxyOrder.objects.select_related("subscription__shop", "order_cycle"),
        pk=proxy_order_id,
        shop_field="subscription__shop",
        label=_("Proxy order"),
    )


def proxy_order_get(*, proxy_order_id: int) -> ProxyOrder:
    """The proxy order as stored now (read again after a write)."""
    return ProxyOrder.objects.get(pk=proxy_order_id)


def proxy_order_of_subscription(
    *, subscription: Subscription, proxy_order_id: int
) -> ProxyOrder | None:
    """The subscription's proxy order with its cycle; None for another subscription's."""
    return (
        ProxyOrder.objects.filter(pk=proxy_order_id, subscription=subscription)
        .select_related("order_cycle")
        .first()
    )


# Proxy orders a cycle's placement places (an explicit request, unpause, resume or retry,
# may also re-place an empty or failed one: placement's EXPLICIT_STATES).
CYCLE_STATES = (ProxyOrderState.PENDING,)


def eligible_proxy_orders(
    *, order_cycle: OrderCycle, now: datetime, states: Sequence[str] = CYCLE_STATES
) -> QuerySet[ProxyOrder]:
    """Proxy orders of the cycle that placement would place now.

    The subscription must be active for this cycle: not canceled, not paused, in range
    (`begins_at <= closes_at`, and `closes_at <= ends_at` when it ends), and its shop must
    have subscriptions enabled.
    """
    closes_at = order_cycle.closes_at
    return ProxyOrder.objects.filter(
        order_cycle=order_cycle,
        # Implied by the cycle (its proxy orders are its shop's subscriptions'), but it lets
        # the database read only the shop's subscriptions rather than every shop's.
        subscription__shop_id=order_cycle.shop_id,
        state__in=list(states),
        order__isnull=True,
        canceled_at__isnull=True,
        subscription__shop__enable_subscriptions=True,
        subscription__begins_at__lte=closes_at,
    ).filter(
        Q(subscription__ends_at__isnull=True) | Q(subscription__ends_at__gte=closes_at),
        Q(subscription__canceled_at__isnull=True) | Q(subscription__canceled_at__gt=now),
        Q(subscription__paused_at__isnull=True) | Q(subscription__paused_at__gt=now),
    )
