"""Reads for the manager's home: the setup checklist of a shop and, once it is complete, the
shop's figures (active subscriptions, next cycles, last placement and confirmation).

The checklist follows the order a manager sets a shop up in (domain.md, *Setup*). Each step
is one query over every shop asked about at once, so a list of shops costs the same handful of
queries as one shop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.utils import timezone

from cadence.catalog.models import Product
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.cycles.selectors import closed_q, current_q, open_q, opened_q, upcoming_q
from cadence.enterprises.models import Enterprise, SupplierPermission
from cadence.orders.models import OrderState, PaymentState, ShippingMethod
from cadence.payments.models import PaymentMethod, PaymentMethodKind
from cadence.subscriptions.domain import Status
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from cadence.subscriptions.selectors import status_q

# The steps, in the order a manager takes them; each names the page that does it.
STEPS = (
    "subscriptions_enabled",
    "payment_method",
    "shipping_method",
    "customer",
    "product",
    "order_cycle",
    "schedule",
)


@dataclass(frozen=True)
class Checklist:
    done: frozenset[str]

    @property
    def complete(self) -> bool:
        return self.done.issuperset(STEPS)

    @property
    def done_count(self) -> int:
        return len(self.done.intersection(STEPS))

    def steps(self) -> list[tuple[str, bool]]:
        return [(step, step in self.done) for step in STEPS]


def setup_checklists(
    shops: Iterable[Enterprise], *, now: datetime | None = None
) -> dict[int, Checklist]:
    """Per shop id, which setup steps are done. Eight queries whatever the number of shops.

    A payment method counts when it is active and manual or Stripe (the only kinds a
    subscription may use); an order cycle and a schedule count while a cycle is open or to
    come (a schedule of closed cycles places nothing)."""
    now = now or timezone.now()
    shops = list(shops)
    ids = [s.pk for s in shops]

    def having(queryset, shop_field: str = "shop_id") -> set[int]:
        return set(queryset.filter(**{f"{shop_field}__in": ids}).values_list(shop_field, flat=True))

    done: dict[int, set[str]] = {s.pk: set() for s in shops}
    found = {
        "subscriptions_enabled": {s.pk for s in shops if s.enable_subscriptions},
        "payment_method": having(
            PaymentMethod.objects.filter(
                active=True, kind__in=[PaymentMethodKind.MANUAL, PaymentMethodKind.STRIPE]
            )
        ),
        "shipping_method": having(ShippingMethod.objects.filter(active=True)),
        "customer": having(Customer.objects.filter(deleted_at__isnull=True)),
        # The shop's own products, or those of a producer that lets it sell them: a hub that
        # only resells producers' goods is set up too.
        "product": having(
            Product.objects.filter(deleted_at__isnull=True, variants__deleted_at__isnull=True),
            "supplier_id",
        )
        | having(
            SupplierPermission.objects.filter(
                producer__products__deleted_at__isnull=True,
                producer__products__variants__deleted_at__isnull=True,
            )
        ),
        "order_cycle": having(OrderCycle.objects.filter(current_q(now))),
        "schedule": having(
            Schedule.objects.filter(
                current_q(now, prefix="order_cycles__"), deleted_at__isnull=True
            )
        ),
    }
    for step, shop_ids in found.items():
        for shop_id in shop_ids:
            done[shop_id].add(step)
    return {shop_id: Checklist(frozenset(steps)) for shop_id, steps in done.items()}


@dataclass(frozen=True)
class CycleResults:
    order_cycle: OrderCycle
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ShopOverview:
    active_subscriptions: int
    next_opening: OrderCycle | None
    next_closing: OrderCycle | None
    last_placement: CycleResults | None
    last_confirmation: CycleResults | None


def _results(order_cycle: OrderCycle | None) -> CycleResults | None:
    if order_cycle is None:
        return None
    # order_by() drops the model's ordering, which would split the GROUP BY.
    counts = (
        ProxyOrder.objects.filter(order_cycle=order_cycle)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return CycleResults(order_cycle=order_cycle, counts=dict(counts))


def shop_overview(*, shop: Enterprise, now: datetime | None = None) -> ShopOverview:
    """The shop's figures for its home page. A fixed number of queries."""
    now = now or timezone.now()
    cycles = OrderCycle.objects.filter(shop=shop)
    return ShopOverview(
        active_subscriptions=Subscription.objects.filter(shop=shop)
        .filter(status_q(Status.ACTIVE, now))
        .count(),
        next_opening=cycles.filter(upcoming_q(now)).order_by("opens_at", "id").first(),
        next_closing=cycles.filter(open_q(now)).order_by("closes_at", "id").first(),
        last_placement=_results(cycles.filter(opened_q(now)).order_by("-opens_at", "-id").first()),
        last_confirmation=_results(
            cycles.filter(closed_q(now)).order_by("-closes_at", "-id").first()
        ),
    )


# What the home lists as needing attention: failed orders and payments of cycles open now or
# closed less than ATTENTION_RECENT ago, and paused subscriptions resuming within
# ATTENTION_RESUME_DAYS; at most ATTENTION_LIMIT of each.
ATTENTION_RECENT = timedelta(days=14)
ATTENTION_RESUME_DAYS = 7
ATTENTION_LIMIT = 20


@dataclass(frozen=True)
class AttentionItem:
    """One subscription to look at. `kind` is `order_failed` (placement failed),
    `payment_failed`, `payment_needs_authorization` (the buyer must authenticate the card
    payment) or `resuming` (paused, resumes on `resume_on`)."""

    kind: str
    subscription: Subscription
    order_cycle: OrderCycle | None = None
    reason: str = ""
    resume_on: date | None = None


@dataclass(frozen=True)
class Attention:
    problems: list[AttentionItem]
    resuming: list[AttentionItem]
    more: bool  # some were left out (more than ATTENTION_LIMIT of a kind)

    @property
    def items(self) -> list[AttentionItem]:
        return self.problems + self.resuming


def subscriptions_needing_attention(
    *, shop: Enterprise, now: datetime | None = None, limit: int = ATTENTION_LIMIT
) -> Attention:
    """The shop's subscriptions a manager should look at: orders that could not be placed
    and payments that failed or await the buyer's authentication, in cycles open or recently
    closed (newest cycle first), then paused subscriptions resuming within the week (soonest
    first). Two queries whatever the number of rows."""
    now = now or timezone.now()
    payment_trouble = [PaymentState.FAILED, PaymentState.REQUIRES_AUTHORIZATION]
    proxies = list(
        ProxyOrder.objects.filter(
            opened_q(now, prefix="order_cycle__"),
            subscription__shop=shop,
            # Not only open cycles: those closed less than ATTENTION_RECENT ago too.
            order_cycle__closes_at__gt=now - ATTENTION_RECENT,
        )
        .filter(
            Q(order__isnull=True, state=ProxyOrderState.FAILED)
            | Q(
                order__payment_state__in=payment_trouble,
                order__state__in=[OrderState.COMPLETE, OrderState.CONFIRMED],
            )
        )
        .exclude(state=ProxyOrderState.CANCELED)
        .select_related("subscription__customer", "order_cycle", "order")
        .order_by("-order_cycle__closes_at", "-order_cycle_id", "id")[: limit + 1]
    )
    today = now.astimezone(ZoneInfo(shop.timezone)).date()
    paused = list(
        Subscription.objects.filter(
            shop=shop,
            canceled_at__isnull=True,
            paused_at__isnull=False,
            resume_on__gte=today,
            resume_on__lte=today + timedelta(days=ATTENTION_RESUME_DAYS),
        )
        .select_related("customer")
        .order_by("resume_on", "id")[: limit + 1]
    )

    def kind_of(proxy: ProxyOrder) -> str:
        if proxy.order is None:
            return "order_failed"
        if proxy.order.payment_state == PaymentState.REQUIRES_AUTHORIZATION:
            return "payment_needs_authorization"
        return "payment_failed"

    problems = [
        AttentionItem(
            kind=kind_of(proxy),
            subscription=proxy.subscription,
            order_cycle=proxy.order_cycle,
            reason=proxy.reason,
        )
        for proxy in proxies[:limit]
    ]
    resuming = [
        AttentionItem(kind="resuming", subscription=sub, resume_on=sub.resume_on)
        for sub in paused[:limit]
    ]
    return Attention(
        problems=problems, resuming=resuming, more=len(proxies) > limit or len(paused) > limit
    )
