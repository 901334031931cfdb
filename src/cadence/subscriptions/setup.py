"""Reads for the manager's home: the setup checklist of a shop and, once it is complete, the
shop's figures (active subscriptions, next cycles, last placement and confirmation).

The checklist follows the order a manager sets a shop up in (domain.md, *Setup*). Each step
is one query over every shop asked about at once, so a list of shops costs the same handful of
queries as one shop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from cadence.catalog.models import Product
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise, SupplierPermission
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod, PaymentMethodKind
from cadence.subscriptions.domain import Status
from cadence.subscriptions.models import ProxyOrder, Subscription
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
        "order_cycle": having(OrderCycle.objects.filter(closes_at__gt=now)),
        "schedule": having(
            Schedule.objects.filter(deleted_at__isnull=True, order_cycles__closes_at__gt=now)
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
        next_opening=cycles.filter(opens_at__gt=now).order_by("opens_at", "id").first(),
        next_closing=cycles.filter(opens_at__lte=now, closes_at__gt=now)
        .order_by("closes_at", "id")
        .first(),
        last_placement=_results(
            cycles.filter(opens_at__lte=now).order_by("-opens_at", "-id").first()
        ),
        last_confirmation=_results(
            cycles.filter(closes_at__lte=now).order_by("-closes_at", "-id").first()
        ),
    )
