"""Reads on subscriptions: lists with derived status, details, estimates and availability."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.cycles.selectors import variant_ids_in_not_closed_cycles
from cadence.enterprises.models import Enterprise
from cadence.errors import NotFound, ValidationFailed
from cadence.money import ZERO
from cadence.subscriptions.domain import Status
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
        state=ProxyOrderState.PLACED,
        order__state="complete",
        order_cycle__closes_at__gt=now,
    ).select_related("order", "order_cycle")


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


def subscription_estimates(subscription: Subscription) -> dict[str, Decimal]:
    """The estimated items, fees and total of one delivery, from the stored estimates.
    Lines of deleted variants count for nothing (they are not delivered)."""
    items = sum(
        (
            (line.price_estimate or ZERO) * line.quantity
            for line in subscription.line_items.all()
            if not line.variant.is_deleted
        ),
        ZERO,
    )
    fees = subscription.shipping_fee_estimate + subscription.payment_fee_estimate
    return {"items": items, "fees": fees, "total": items + fees}
