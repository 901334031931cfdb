"""Reads on order cycles and schedules."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.models import Variant
from cadence.catalog.selectors import variants_sellable_by
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager

# --- The cycle rule as query expressions ------------------------------------------------------
# The same comparisons as `cycles.domain` (`has_opened`: opens_at <= now; `is_closed`:
# closes_at <= now), each side written positively: a negated Q over a multi-valued relation
# (`order_cycles__...`) would become a subquery with another meaning. `prefix` reaches the
# cycle through a relation ("order_cycle__", "ordercycle__", "order_cycles__"); the lookups
# of one Q, given to one `filter()`, then refer to the same cycle.


def opened_q(now: datetime, *, prefix: str = "") -> Q:
    """The cycle has opened (open or closed): `domain.has_opened`."""
    return Q(**{f"{prefix}opens_at__lte": now})


def upcoming_q(now: datetime, *, prefix: str = "") -> Q:
    """The cycle has not opened yet: `domain.is_upcoming`."""
    return Q(**{f"{prefix}opens_at__gt": now})


def closed_q(now: datetime, *, prefix: str = "") -> Q:
    """The cycle has closed: `domain.is_closed`."""
    return Q(**{f"{prefix}closes_at__lte": now})


def current_q(now: datetime, *, prefix: str = "") -> Q:
    """The cycle has not closed yet (open or upcoming): `domain.is_current`."""
    return Q(**{f"{prefix}closes_at__gt": now})


def open_q(now: datetime, *, prefix: str = "") -> Q:
    """The cycle is open, from `opens_at` included to `closes_at` excluded: `domain.is_open`."""
    return opened_q(now, prefix=prefix) & current_q(now, prefix=prefix)


def order_cycles_for_shop(*, shop: Enterprise) -> QuerySet[OrderCycle]:
    return OrderCycle.objects.filter(shop=shop).order_by("opens_at", "id")


def schedules_for_shop(*, shop: Enterprise) -> QuerySet[Schedule]:
    """The shop's schedules that are not deleted."""
    return Schedule.objects.filter(shop=shop, deleted_at__isnull=True).order_by("name", "id")


def next_cycle_of_schedule(*, schedule: Schedule, now: datetime | None = None) -> OrderCycle | None:
    """The schedule's cycle that closes first among those not closed yet (open or upcoming):
    the one whose prices and fees an estimate uses."""
    now = now or timezone.now()
    return (
        schedule.order_cycles.filter(current_q(now))
        .order_by("closes_at", "id")
        .prefetch_related("fees")
        .first()
    )


def variant_ids_in_not_closed_cycles(
    *, schedule: Schedule | int, now: datetime | None = None
) -> set[int]:
    """Ids of the variants offered by an open or upcoming cycle of the schedule."""
    now = now or timezone.now()
    through = OrderCycle.variants.through
    return set(
        through.objects.filter(
            current_q(now, prefix="ordercycle__"), ordercycle__schedules=schedule
        ).values_list("variant_id", flat=True)
    )


# --- For the back office's pages -------------------------------------------------------------

# The lifecycle states a list of cycles can be narrowed to; "current" is open and upcoming
# together, what a manager works on.
CYCLE_STATES = ("current", "open", "upcoming", "closed")


def order_cycles_in_state(
    queryset: QuerySet[OrderCycle], *, state: str, now: datetime | None = None
) -> QuerySet[OrderCycle]:
    """Narrow `queryset` to one state (see `cycles.domain`: open from `opens_at` included to
    `closes_at` excluded). Upcoming and open read soonest first, closed newest first."""
    now = now or timezone.now()
    if state == "current":
        return queryset.filter(current_q(now)).order_by("opens_at", "id")
    if state == "open":
        return queryset.filter(open_q(now)).order_by("closes_at", "id")
    if state == "upcoming":
        return queryset.filter(upcoming_q(now)).order_by("opens_at", "id")
    if state == "closed":
        return queryset.filter(closed_q(now)).order_by("-closes_at", "-id")
    raise ValueError(f"unknown order cycle state: {state!r}")


def order_cycle_state_counts(*, shop: Enterprise, now: datetime | None = None) -> dict[str, int]:
    """How many of the shop's cycles are in each state, in one query (for the list's tabs)."""
    now = now or timezone.now()
    return OrderCycle.objects.filter(shop=shop).aggregate(
        current=Count("pk", filter=current_q(now)),
        open=Count("pk", filter=open_q(now)),
        upcoming=Count("pk", filter=upcoming_q(now)),
        closed=Count("pk", filter=closed_q(now)),
    )


def _live_schedules() -> Prefetch:
    return Prefetch(
        "schedules",
        queryset=Schedule.objects.filter(deleted_at__isnull=True).order_by("name", "id"),
        to_attr="live_schedules",
    )


def order_cycles_for_list(*, shop: Enterprise) -> QuerySet[OrderCycle]:
    """The shop's cycles with `variant_count` and `live_schedules` (the schedules that are not
    deleted), in a fixed number of queries however many rows."""
    return (
        order_cycles_for_shop(shop=shop)
        .annotate(variant_count=Count("variants", distinct=True))
        .prefetch_related(_live_schedules())
    )


def order_cycle_for_edit(*, shop: Enterprise, pk: int) -> OrderCycle | None:
    """One of the shop's cycles with its variants (and products), fees and `live_schedules`;
    None when the shop has no such cycle."""
    return (
        OrderCycle.objects.filter(shop=shop, pk=pk)
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.select_related("product")),
            "fees",
            _live_schedules(),
        )
        .first()
    )


VARIANT_SEARCH_LIMIT = 30


def sellable_variants_matching(
    *, shop: Enterprise, q: str, exclude_ids=(), limit: int = VARIANT_SEARCH_LIMIT
) -> list[Variant]:
    """Up to `limit` variants the shop may sell whose product name, variant name or SKU
    contains `q` (none for a blank search), leaving out `exclude_ids` (those already picked).
    A shop may sell thousands of variants: pickers search rather than list them."""
    q = (q or "").strip()
    if not q:
        return []
    return list(
        variants_sellable_by(shop)
        .filter(Q(product__name__icontains=q) | Q(name__icontains=q) | Q(sku__icontains=q))
        .exclude(pk__in=list(exclude_ids))
        .order_by("product__name", "name", "id")[:limit]
    )


def variants_for_cycle_form(
    *, shop: Enterprise, ids, order_cycle: OrderCycle | None = None
) -> list[Variant]:
    """The variants `ids` as a cycle's form shows them ticked: those the shop may sell (even
    deleted since) and those already in `order_cycle`; an id of anything else is left out, so
    no other shop's product is ever named."""
    ids = list(ids)
    if not ids:
        return []
    allowed = Q(pk__in=variants_sellable_by(shop, include_deleted=True).values("pk"))
    if order_cycle is not None:
        allowed |= Q(order_cycles=order_cycle)
    return list(
        Variant.objects.filter(allowed, pk__in=ids)
        .select_related("product")
        .distinct()
        .order_by("product__name", "name", "id")
    )


def schedules_for_list(*, shop: Enterprise, now: datetime | None = None) -> QuerySet[Schedule]:
    """The shop's schedules with `cycle_count`, the next cycle to open (`next_cycle_name`,
    `next_opens_at`) and `subscription_count` (subscriptions not canceled, those that keep it
    from being deleted). Subqueries rather than joins, so the figures do not multiply each
    other and the query count stays the same however many rows."""
    # Subscriptions build on cycles, not the other way round: only this figure needs them.
    from cadence.subscriptions.models import Subscription

    now = now or timezone.now()
    cycles = Schedule.order_cycles.through.objects.filter(schedule_id=OuterRef("pk"))
    upcoming = OrderCycle.objects.filter(upcoming_q(now), schedules=OuterRef("pk")).order_by(
        "opens_at", "id"
    )
    subscriptions = Subscription.objects.filter(
        schedule_id=OuterRef("pk"), canceled_at__isnull=True
    )
    return schedules_for_shop(shop=shop).annotate(
        cycle_count=_count_of(cycles),
        next_cycle_name=Subquery(upcoming.values("name")[:1]),
        next_opens_at=Subquery(upcoming.values("opens_at")[:1]),
        subscription_count=_count_of(subscriptions),
    )


def _count_of(rows: QuerySet) -> Coalesce:
    """COUNT(*) of `rows` (filtered on `schedule_id=OuterRef("pk")`) as a subquery."""
    counted = rows.order_by().values("schedule_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1]), 0)


def order_cycles_for_schedule_form(
    *, shop: Enterprise, selected_ids, now: datetime | None = None
) -> list[OrderCycle]:
    """The cycles a schedule's form offers: the open and upcoming ones, and the closed ones
    among `selected_ids` (already in the schedule). Soonest first."""
    now = now or timezone.now()
    return list(
        order_cycles_for_shop(shop=shop).filter(current_q(now) | Q(pk__in=list(selected_ids)))
    )


def order_cycle_for_manager(*, user, order_cycle_id: int) -> OrderCycle:
    """The cycle if the user manages its shop (or is staff); raises NotFound otherwise."""
    return object_for_manager(
        user=user,
        queryset=OrderCycle.objects.select_related("shop"),
        pk=order_cycle_id,
        label=_("Order cycle"),
    )


def schedule_for_manager(*, user, schedule_id: int) -> Schedule:
    """The schedule (not deleted) if the user manages its shop (or is staff); raises NotFound
    otherwise."""
    return object_for_manager(
        user=user,
        queryset=Schedule.objects.filter(deleted_at__isnull=True).select_related("shop"),
        pk=schedule_id,
        label=_("Schedule"),
    )


def _with_cycle_details(qs: QuerySet[OrderCycle]) -> QuerySet[OrderCycle]:
    return qs.select_related("shop").prefetch_related("variants", "fees", "schedules")


def order_cycle_with_details(*, order_cycle_id: int) -> OrderCycle:
    """The cycle with its shop, variants, fees and schedules (read again after a write)."""
    return _with_cycle_details(OrderCycle.objects.all()).get(pk=order_cycle_id)


def order_cycles_with_details_for_shop(*, shop: Enterprise) -> QuerySet[OrderCycle]:
    """The shop's cycles as `order_cycles_for_shop`, with their shop, variants, fees and
    schedules."""
    return _with_cycle_details(order_cycles_for_shop(shop=shop))


def schedules_with_cycles_for_shop(*, shop: Enterprise) -> QuerySet[Schedule]:
    """The shop's schedules as `schedules_for_shop`, with their cycles."""
    return schedules_for_shop(shop=shop).prefetch_related("order_cycles")


def order_cycle_get(*, order_cycle_id: int) -> OrderCycle | None:
    """The cycle with its shop; None when it no longer exists (a task's cycle deleted
    since the task was queued)."""
    return OrderCycle.objects.select_related("shop").filter(pk=order_cycle_id).first()


def order_cycle_of_shop(*, shop: Enterprise, order_cycle_id: int) -> OrderCycle | None:
    """The shop's cycle; None for another shop's or a missing one."""
    return OrderCycle.objects.filter(pk=order_cycle_id, shop=shop).first()


def shop_has_order_cycles(*, shop: Enterprise) -> bool:
    """Whether the shop has made any cycle yet."""
    return order_cycles_for_shop(shop=shop).exists()


def order_cycle_ids_of_schedule(*, schedule: Schedule) -> list[int]:
    """Ids of the schedule's cycles."""
    return list(schedule.order_cycles.values_list("pk", flat=True))


def shop_has_schedule(*, shop: Enterprise, schedule_id: int) -> bool:
    """Whether `schedule_id` is one of the shop's schedules (not deleted)."""
    return schedules_for_shop(shop=shop).filter(pk=schedule_id).exists()


def order_cycle_sells(order_cycle: OrderCycle) -> Exists:
    """For a query on variants: whether the cycle sells the variant (deleted or not), read in
    the same query as the variants."""
    return Exists(
        OrderCycle.variants.through.objects.filter(
            ordercycle_id=order_cycle.pk, variant_id=OuterRef("pk")
        )
    )
