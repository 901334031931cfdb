"""A cycle's allocation: how its scarce stock is divided, decided once before placement.

When a cycle opens, its full stock is divided over every proxy order eligible then,
following the shop's allocation policy, and stored (`CycleAllocation`, one per cycle; the
proxy orders it counts are marked `allocated`). Placement's chunks, re-runs and workers
read the stored shares, never recompute them, so who gets scarce stock depends neither on
how the cycle was cut into chunks nor on a crash between them. Only variants in shortage
get a `Share` (a cut-off rank), streamed so memory does not grow with the cycle.

Placement stores the allocation of a cycle that fits in one chunk itself, with that chunk
(`allocation_claim`, then `allocation_store` of the shares it computed from the chunk's
reads); `cycle_allocation` stores that of any other cycle, in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from cadence.bulk import stream_rows
from cadence.catalog.models import Variant
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import order_cycle_sells
from cadence.subscriptions.allocation import Share
from cadence.subscriptions.models import (
    CycleAllocation,
    ProxyOrder,
    ProxyOrderState,
    SubscriptionLineItem,
)
from cadence.subscriptions.selectors import eligible_proxy_orders

logger = logging.getLogger("cadence.placement")

Shares = dict[int, Share]  # variant id -> how its scarce stock is divided over the cycle


def cycle_shares(*, order_cycle: OrderCycle, proxies: QuerySet[ProxyOrder], policy: str) -> Shares:
    """For variants whose demand (over `proxies`) exceeds their stock, how the stock is
    divided; variants with enough stock, or on demand, are left out (everyone gets what they
    ask for).

    Demand is summed per variant in one GROUP BY; only for variants in shortage are the
    claims read, streamed oldest subscription first, so memory stays the same however many
    subscriptions the cycle has. The oldest subscription is served first (first_come) or
    gets the rounding remainder (fair_share).
    """
    lines = SubscriptionLineItem.objects.filter(
        subscription_id__in=proxies.order_by().values("subscription_id"), quantity__gt=0
    )
    demand = dict(
        lines.order_by()
        .values("variant_id")
        .annotate(total=Sum("quantity"))
        .values_list("variant_id", "total")
    )
    shares: Shares = {}
    # Only variants the cycle sells (not deleted, nor their product) are divided: the others
    # give nothing to anyone.
    for variant_id, on_hand in (
        Variant.objects.filter(
            pk__in=list(demand),
            on_demand=False,
            deleted_at__isnull=True,
            product__deleted_at__isnull=True,
        )
        .filter(order_cycle_sells(order_cycle))
        .order_by("pk")
        .values_list("pk", "on_hand")
    ):
        if demand[variant_id] <= on_hand:
            continue
        ranked = lines.filter(variant_id=variant_id)

        def claims(ranked: Any = ranked) -> Iterator[tuple[tuple[datetime, int], int]]:
            return (
                ((created, sub), q)
                for created, sub, q in stream_rows(
                    ranked,
                    fields=("subscription__created_at", "subscription_id", "quantity"),
                    order=("subscription__created_at", "subscription_id", "pk"),
                )
            )

        share = Share.build(claims=claims, stock=on_hand, policy=policy, demand=demand[variant_id])
        if share is not None:
            shares[variant_id] = share
    return shares


def shares_to_json(shares: Shares) -> dict[str, Any]:
    """Shares as stored in `CycleAllocation.shares` (JSON): ranks are (created_at,
    subscription id)."""
    return {
        str(variant_id): [
            share.policy,
            share.stock,
            share.demand,
            [share.cutoff[0].isoformat(), share.cutoff[1]] if share.cutoff else None,
            share.partial,
        ]
        for variant_id, share in shares.items()
    }


def shares_from_json(data: dict[str, Any] | None) -> Shares:
    shares: Shares = {}
    for variant_id, (policy, stock, demand, cutoff, partial) in (data or {}).items():
        rank = (datetime.fromisoformat(cutoff[0]), int(cutoff[1])) if cutoff else None
        shares[int(variant_id)] = Share(
            policy=policy, stock=int(stock), demand=int(demand), cutoff=rank, partial=int(partial)
        )
    return shares


class _NothingToAllocate(Exception):
    """Nothing is eligible: no allocation is stored (it would count no one)."""


def held_proxy_orders(order_cycle: OrderCycle) -> QuerySet[ProxyOrder]:
    """Proxy orders counted in the cycle's allocation and not placed yet: their shares are
    held for them (also while their subscription is paused) until they are placed, skipped,
    or found empty or failed."""
    return ProxyOrder.objects.filter(
        order_cycle=order_cycle,
        allocated=True,
        state=ProxyOrderState.PENDING,
        order__isnull=True,
        canceled_at__isnull=True,
    )


def allocation_is_stored(order_cycle: OrderCycle) -> bool:
    """Whether the cycle has its allocation, as read with it (`select_related("allocation")`)."""
    try:
        order_cycle.allocation  # noqa: B018 - reading the relation is the question
    except CycleAllocation.DoesNotExist:
        return False
    return True


def allocation_claim(*, order_cycle: OrderCycle) -> CycleAllocation:
    """Insert the cycle's allocation row, its shares to come (`allocation_store`), as the
    first write of the caller's transaction: the row is the cycle's lock for storing its
    allocation. A second worker's insert waits for this transaction, then fails on the
    one-to-one key (IntegrityError) and reads the row stored here. Every worker takes this
    row before any proxy order's lock, so no two of them can each wait for the other."""
    # By id, so that the cycle object keeps no cached allocation should this roll back.
    return CycleAllocation.objects.create(
        order_cycle_id=order_cycle.pk,
        policy=order_cycle.shop.allocation_policy,
        shares={},
        computed_at=timezone.now(),
    )


def allocation_store(*, allocation: CycleAllocation, shares: Shares) -> None:
    """Store the shares of a claimed allocation (none in shortage, the usual case, is the
    row as claimed)."""
    if shares:
        allocation.shares = shares_to_json(shares)
        allocation.save(update_fields=["shares"])
    logger.info(
        "allocation of cycle %s stored: %s variant(s) in shortage",
        allocation.order_cycle_id,
        len(shares),
    )


def cycle_allocation(*, order_cycle: OrderCycle, now: datetime) -> CycleAllocation | None:
    """The cycle's stored allocation; stored now when there is none yet (from the full stock
    over every proxy order eligible now). None when there is none and nothing is eligible.

    Create-once (`allocation_claim`); the eligible proxy orders are marked in the same
    transaction, then the shares are computed over exactly the marked ones, so who is
    counted and what they share agree."""
    try:
        # Read with the cycle where the caller selected it (`select_related("allocation")`).
        return order_cycle.allocation
    except CycleAllocation.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            allocation = allocation_claim(order_cycle=order_cycle)
            if not eligible_proxy_orders(order_cycle=order_cycle, now=now).update(allocated=True):
                raise _NothingToAllocate
            shares = cycle_shares(
                order_cycle=order_cycle,
                proxies=held_proxy_orders(order_cycle),
                policy=allocation.policy,
            )
            allocation_store(allocation=allocation, shares=shares)
    except _NothingToAllocate:
        return None
    except IntegrityError:
        stored = CycleAllocation.objects.filter(order_cycle=order_cycle).first()
        if stored is None:
            raise
        return stored
    return allocation


def stored_shares(*, order_cycle: OrderCycle, now: datetime) -> Shares:
    """The shares of the cycle's stored allocation (stored now if needed; see above)."""
    allocation = cycle_allocation(order_cycle=order_cycle, now=now)
    return shares_from_json(allocation.shares) if allocation is not None else {}


def held_elsewhere(
    *, order_cycle: OrderCycle, variant_ids: Iterable[int], shares: Shares, exclude: Iterable[int]
) -> dict[int, int]:
    """Per variant, the units held for the allocated proxy orders still pending (other than
    `exclude`): their share of a variant in shortage, what they ask of the others. Streamed,
    so memory does not grow with the cycle; only late-comers need it."""
    held: dict[int, int] = defaultdict(int)
    pending = held_proxy_orders(order_cycle).exclude(pk__in=list(exclude))
    rows = stream_rows(
        SubscriptionLineItem.objects.filter(
            subscription_id__in=pending.order_by().values("subscription_id"),
            variant_id__in=list(variant_ids),
        ),
        fields=("variant_id", "quantity", "subscription__created_at", "subscription_id"),
        order=("pk",),
    )
    for variant_id, quantity, created_at, subscription_id in rows:
        share = shares.get(variant_id)
        if share is None:
            held[variant_id] += quantity
        else:
            held[variant_id] += share.given(quantity=quantity, rank=(created_at, subscription_id))
    return held
