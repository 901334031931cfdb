"""The life of a subscription: create, edit, pause, unpause, cancel, and skip, resume or retry
one delivery (a proxy order).

Each public function is one use case and one transaction: validation first (nothing is
written on failure), then the rows, then the proxy-order sync, the audit event, the buyer's
email (an outbox row in the same transaction, see `services.emails`), and side effects
(placement of orders due now) only after commit.

Transactions here are not `durable`: the CSV import runs these services inside its own
transaction (and rolls it back for a dry run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.catalog.models import Variant
from cadence.catalog.selectors import variants_sellable_by
from cadence.customers.domain import clean_address
from cadence.customers.models import Customer
from cadence.cycles.domain import (
    as_aware,
    has_opened,
    order_cycle_is_closed,
    order_cycle_is_open,
)
from cadence.cycles.models import Schedule
from cadence.cycles.selectors import current_q, next_cycle_of_schedule, open_q
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict, ErrorCollector, ValidationFailed
from cadence.notifications.after_commit import run_on_commit
from cadence.orders.models import OrderState, ShippingMethod
from cadence.orders.services import order_cancel, order_resume
from cadence.payments.models import PaymentMethod, PaymentMethodKind
from cadence.payments.selectors import stripe_charge_problems
from cadence.payments.services import payments_void_for_order
from cadence.subscriptions.domain import (
    OPEN_ORDERS_CHOICES,
    estimate,
    jsonable,
)
from cadence.subscriptions.models import (
    ProxyOrder,
    ProxyOrderState,
    Subscription,
    SubscriptionEvent,
    SubscriptionLineItem,
)
from cadence.subscriptions.selectors import placed_open_proxy_orders
from cadence.subscriptions.services import emails
from cadence.subscriptions.services.order_sync import (
    order_payment_method,
    order_refresh_totals,
    propagate_subscription_changes,
)
from cadence.subscriptions.services.sync import proxy_orders_sync

# Who made a change (recorded on its event); None or anonymous for the system.
Actor: TypeAlias = User | AnonymousUser | None

EDITABLE_FIELDS = (
    "payment_method_id",
    "shipping_method_id",
    "begins_at",
    "ends_at",
    "bill_address",
    "ship_address",
    "line_items",
)
FIXED_FIELDS = ("customer_id", "schedule_id")


# --- validation ---------------------------------------------------------------------------


@dataclass
class _Cleaned:
    customer: Customer | None = None
    schedule: Schedule | None = None
    payment_method: PaymentMethod | None = None
    shipping_method: ShippingMethod | None = None
    begins_at: datetime | None = None
    ends_at: datetime | None = None
    bill_address: dict[str, Any] | None = None
    ship_address: dict[str, Any] | None = None
    lines: list[tuple[Variant, int]] = field(default_factory=list)


def _raw_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _lookup(qs: QuerySet[Any], value: Any) -> Any:
    pk = _raw_id(value)
    return None if pk is None else qs.filter(pk=pk).first()


def _clean_related(
    *, shop: Enterprise, data: dict[str, Any], errors: ErrorCollector, out: _Cleaned
) -> None:
    labels = {
        "customer_id": (_("Customer is required"), _("Customer is not available to %(shop)s")),
        "schedule_id": (_("Schedule is required"), _("Schedule is not available to %(shop)s")),
        "payment_method_id": (
            _("Payment method is required"),
            _("Payment method is not available to %(shop)s"),
        ),
        "shipping_method_id": (
            _("Shipping method is required"),
            _("Shipping method is not available to %(shop)s"),
        ),
    }
    querysets = {
        # A removed (soft-deleted) customer is unknown here. The row is locked so that a
        # concurrent customer_delete either sees this subscription or is seen as removed.
        "customer_id": Customer.objects.filter(shop=shop, deleted_at__isnull=True)
        .select_related("user", "shop")
        .select_for_update(of=("self",)),
        "schedule_id": Schedule.objects.filter(shop=shop, deleted_at__isnull=True),
        "payment_method_id": PaymentMethod.objects.filter(shop=shop, active=True),
        "shipping_method_id": ShippingMethod.objects.filter(shop=shop, active=True),
    }
    found = {}
    for key, qs in querysets.items():
        required, unavailable = labels[key]
        if data.get(key) is None:
            errors.add(key, required)
            continue
        obj = _lookup(qs, data[key])
        if obj is None:
            errors.add(key, unavailable % {"shop": shop.name})
        found[key] = obj
    out.customer = found.get("customer_id")
    out.schedule = found.get("schedule_id")
    out.shipping_method = found.get("shipping_method_id")
    method = found.get("payment_method_id")
    out.payment_method = method
    if method is not None:
        if method.kind not in (PaymentMethodKind.MANUAL, PaymentMethodKind.STRIPE):
            errors.add(
                "payment_method_id",
                _("Payment method must be a manual (cash, cheque, transfer) or Stripe method"),
            )
        elif method.kind == PaymentMethodKind.STRIPE and out.customer is not None:
            for problem in stripe_charge_problems(customer=out.customer):
                errors.add(
                    "payment_method_id", _("Payment method: %(problem)s") % {"problem": problem}
                )


def _clean_dates(
    *, shop: Enterprise, data: dict[str, Any], errors: ErrorCollector, out: _Cleaned
) -> None:
    begins_at, ok = as_aware(data.get("begins_at"), tz_name=shop.timezone)
    if not ok:
        errors.add("begins_at", _("Begins at is not a valid date and time"))
    elif begins_at is None:
        errors.add("begins_at", _("Begins at is required"))
    ends_at, ok = as_aware(data.get("ends_at"), tz_name=shop.timezone)
    if not ok:
        errors.add("ends_at", _("Ends at is not a valid date and time"))
    elif begins_at is not None and ends_at is not None and ends_at <= begins_at:
        errors.add("ends_at", _("Ends at must be after begins at"))
    out.begins_at, out.ends_at = begins_at, ends_at


def _clean_addresses(*, data: dict[str, Any], errors: ErrorCollector, out: _Cleaned) -> None:
    for key, label in (
        ("bill_address", _("Bill address")),
        ("ship_address", _("Ship address")),
    ):
        value = data.get(key)
        if value is None or value == {}:
            # Addresses default to the customer's: with no valid customer, say that only.
            if not errors.has("customer_id"):
                errors.add(key, _("%(field)s is required") % {"field": label})
            continue
        address, problems = clean_address(value)
        for problem in problems:
            errors.add(key, _("%(field)s: %(problem)s") % {"field": label, "problem": problem})
        setattr(out, key, address)


def _clean_lines(
    *,
    shop: Enterprise,
    value: Any,
    kept_variant_ids: frozenset[int],
    errors: ErrorCollector,
    out: _Cleaned,
) -> None:
    """`kept_variant_ids` are the variants already on the subscription: they stay allowed
    even if deleted or no longer sellable since (they show as unavailable instead)."""
    key = "line_items"
    if not isinstance(value, (list, tuple)):
        errors.add(key, _("Line items must be a list of {variant_id, quantity}"))
        return
    parsed: list[tuple[int, Any]] = []
    for index, raw in enumerate(value, start=1):
        variant_id = _raw_id(raw.get("variant_id")) if isinstance(raw, dict) else None
        if variant_id is None:
            errors.add(key, _("Line item %(n)s needs a variant_id") % {"n": index})
            continue
        parsed.append((variant_id, raw.get("quantity")))
    ids = {vid for vid, _q in parsed}
    variants = Variant.objects.select_related("product").in_bulk(ids)
    sellable = set(
        variants_sellable_by(shop, include_deleted=True)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    seen: set[int] = set()
    refused: set[int] = set()
    for variant_id, quantity in parsed:
        variant = variants.get(variant_id)
        kept = variant_id in kept_variant_ids
        if variant is None or (variant_id not in sellable and not kept):
            # Unknown or another enterprise's: only the id the client sent is repeated, so
            # no other shop's product is ever named (nor its existence told).
            if variant_id not in refused:
                refused.add(variant_id)
                errors.add(
                    key,
                    _("Variant %(id)s is not available to %(shop)s")
                    % {"id": variant_id, "shop": shop.name},
                )
            continue
        name = variant.full_name
        if variant_id in seen:
            errors.add(key, _("%(variant)s appears more than once") % {"variant": name})
            continue
        seen.add(variant_id)
        if variant.is_deleted and not kept:
            errors.add(
                key, _("%(variant)s has been deleted and cannot be added") % {"variant": name}
            )
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors.add(key, _("Quantity must be at least 1 for %(variant)s") % {"variant": name})
            continue
        out.lines.append((variant, quantity))
    if not parsed and not errors.has(key):
        errors.add(key, _("Please add at least one product"))


def _validate(
    *, shop: Enterprise, data: dict[str, Any], kept_variant_ids: frozenset[int] = frozenset()
) -> _Cleaned:
    errors = ErrorCollector()
    out = _Cleaned()
    _clean_related(shop=shop, data=data, errors=errors, out=out)
    _clean_dates(shop=shop, data=data, errors=errors, out=out)
    _clean_addresses(data=data, errors=errors, out=out)
    _clean_lines(
        shop=shop,
        value=data.get("line_items"),
        kept_variant_ids=kept_variant_ids,
        errors=errors,
        out=out,
    )
    errors.raise_if_any()
    return out


# --- writes shared by the use cases --------------------------------------------------------


def _record(
    subscription: Subscription, kind: str, actor: Actor, data: dict[str, Any] | None = None
) -> None:
    SubscriptionEvent.objects.create(
        subscription=subscription,
        actor=actor if isinstance(actor, User) and actor.pk else None,
        kind=kind,
        data=data or {},
    )


def _write_lines(subscription: Subscription, lines: list[tuple[Variant, int]]) -> None:
    """Replace the line items, keeping the rows (and ids) of variants that stay."""
    current = {li.variant_id: li for li in subscription.line_items.all()}
    wanted = {variant.pk: quantity for variant, quantity in lines}
    subscription.line_items.exclude(variant_id__in=list(wanted)).delete()
    changed = []
    for variant_id, quantity in wanted.items():
        line = current.get(variant_id)
        if line is not None and line.quantity != quantity:
            line.quantity = quantity
            changed.append(line)
    SubscriptionLineItem.objects.bulk_update(changed, ["quantity"])
    SubscriptionLineItem.objects.bulk_create(
        SubscriptionLineItem(subscription=subscription, variant_id=vid, quantity=qty)
        for vid, qty in wanted.items()
        if vid not in current
    )


def subscription_estimate(*, subscription: Subscription, now: datetime | None = None) -> None:
    """Store the estimates as of now: each line's price estimate (the variant's current price,
    what the placed order's line will cost) and the shipping and payment fees of an order
    placed in the schedule's next cycle. The API computes its estimates afresh on each read
    (`selectors.subscriptions_estimates`); these columns keep the figures of the last edit."""
    now = now or timezone.now()
    cycle = next_cycle_of_schedule(schedule=subscription.schedule, now=now)
    lines = list(subscription.line_items.select_related("variant__product"))
    for line in lines:
        line.price_estimate = line.variant.price
    SubscriptionLineItem.objects.bulk_update(lines, ["price_estimate"])
    offered = set(cycle.variants.values_list("pk", flat=True)) if cycle else None
    shipping, payment = subscription.shipping_method, subscription.payment_method
    est = estimate(
        lines=[
            (li.variant.price, li.quantity)  # the price estimate just stored
            for li in lines
            if not li.variant.is_deleted and (offered is None or li.variant_id in offered)
        ],
        cycle_fees=[(f.name, f.kind, f.amount) for f in cycle.fees.all()] if cycle else (),
        shipping=(shipping.name, shipping.fee),
        payment=(payment.name, payment.fee, payment.fee_percent),
        currency=subscription.shop.currency,
    )
    subscription.shipping_fee_estimate = est.shipping
    subscription.payment_fee_estimate = est.payment
    subscription.save(update_fields=["shipping_fee_estimate", "payment_fee_estimate", "updated_at"])


def _place_after_commit(proxy_order_ids: list[int], now: datetime) -> None:
    if not proxy_order_ids:
        return

    def place() -> None:
        # The placement engine is imported here: it depends on this module's siblings.
        from cadence.subscriptions.services.placement import place_proxy_orders

        place_proxy_orders(proxy_order_ids=proxy_order_ids, now=now)

    # Should placement fail here, the proxy orders stay pending and the catch-up places them.
    run_on_commit(place)


def _lock(subscription: Subscription) -> Subscription:
    """Lock the subscription row (and refresh it) so concurrent edits run one after another."""
    locked = (
        Subscription.objects.select_for_update()
        .select_related("shop", "customer", "schedule", "payment_method", "shipping_method")
        .get(pk=subscription.pk)
    )
    return locked


def _refuse_if_canceled(subscription: Subscription) -> None:
    if subscription.canceled_at is not None:
        raise Conflict(_("This subscription is canceled and cannot be changed."))


def _cancel_proxy(proxy: ProxyOrder, now: datetime) -> None:
    """Skip one delivery; a placed order is canceled, its stock released, its payment voided."""
    order = proxy.order
    if order is not None and order.state == OrderState.COMPLETE:
        order_cancel(order=order, now=now)
        payments_void_for_order(order=order)
    proxy.state, proxy.canceled_at = ProxyOrderState.CANCELED, now
    proxy.save(update_fields=["state", "canceled_at", "updated_at"])


def _check_open_orders(
    subscription: Subscription, open_orders: str | None, now: datetime
) -> list[ProxyOrder]:
    if open_orders is not None and open_orders not in OPEN_ORDERS_CHOICES:
        raise ValidationFailed({"open_orders": [_('open_orders must be "keep" or "cancel"')]})
    placed = list(placed_open_proxy_orders(subscription=subscription, now=now))
    if placed and open_orders is None:
        raise Conflict(
            _(
                "Some orders of this subscription are already placed in open order cycles, and "
                'the customer has been told about them. Choose open_orders: "keep" to keep them '
                '(they are confirmed when their cycle closes) or "cancel" to cancel them.'
            ),
            field="open_orders",
        )
    return placed


def _today_in_shop(shop: Enterprise, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop.timezone)).date()


# --- use cases -----------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    shop: Enterprise,
    customer_id: Any,
    schedule_id: Any,
    payment_method_id: Any,
    shipping_method_id: Any,
    begins_at: Any,
    ends_at: Any = None,
    bill_address: dict[str, Any] | None = None,
    ship_address: dict[str, Any] | None = None,
    line_items: list[dict[str, Any]],
    actor: Actor = None,
    now: datetime | None = None,
) -> Subscription:
    """Create a subscription and its proxy orders. Addresses default to the customer's.

    Raises ValidationFailed with errors keyed by the API's field names."""
    now = now or timezone.now()
    if bill_address is None or ship_address is None:
        customer = _lookup(Customer.objects.filter(shop=shop, deleted_at__isnull=True), customer_id)
        if customer is not None:
            bill_address = bill_address if bill_address is not None else customer.bill_address
            ship_address = ship_address if ship_address is not None else customer.ship_address
    data = _validate(
        shop=shop,
        data={
            "customer_id": customer_id,
            "schedule_id": schedule_id,
            "payment_method_id": payment_method_id,
            "shipping_method_id": shipping_method_id,
            "begins_at": begins_at,
            "ends_at": ends_at,
            "bill_address": bill_address,
            "ship_address": ship_address,
            "line_items": line_items,
        },
    )
    # Each is required: `_validate` raised otherwise.
    assert data.customer is not None and data.schedule is not None
    assert data.payment_method is not None and data.shipping_method is not None
    assert data.begins_at is not None
    subscription = Subscription.objects.create(
        shop=shop,
        customer=data.customer,
        schedule=data.schedule,
        payment_method=data.payment_method,
        shipping_method=data.shipping_method,
        begins_at=data.begins_at,
        ends_at=data.ends_at,
        bill_address=data.bill_address,
        ship_address=data.ship_address,
    )
    _write_lines(subscription, data.lines)
    subscription_estimate(subscription=subscription, now=now)
    proxy_orders_sync(subscriptions=[subscription], now=now)
    _record(
        subscription,
        "created",
        actor,
        {"line_items": {str(v.pk): q for v, q in data.lines}},
    )
    emails.subscription_email_queue(
        subscription=subscription, kind=emails.SUBSCRIPTION_STARTED, now=now
    )
    return subscription


def _current_values(subscription: Subscription) -> dict[str, Any]:
    return {
        "customer_id": subscription.customer_id,
        "schedule_id": subscription.schedule_id,
        "payment_method_id": subscription.payment_method_id,
        "shipping_method_id": subscription.shipping_method_id,
        "begins_at": subscription.begins_at,
        "ends_at": subscription.ends_at,
        "bill_address": subscription.bill_address,
        "ship_address": subscription.ship_address,
        "line_items": [
            {"variant_id": li.variant_id, "quantity": li.quantity}
            for li in subscription.line_items.all()
        ],
    }


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    changes: dict[str, Any],
    actor: Actor = None,
    now: datetime | None = None,
) -> tuple[Subscription, list[dict[str, Any]]]:
    """Edit a subscription, re-sync its proxy orders and carry the edit to its placed orders
    of open cycles. Returns (subscription, issues: orders that could not be updated).

    Raises ValidationFailed (customer and schedule are fixed; begins_at only before the first
    placement) or Conflict (canceled subscription)."""
    now = now or timezone.now()
    subscription = _lock(subscription)
    _refuse_if_canceled(subscription)
    before = _current_values(subscription)
    errors = ErrorCollector()
    for key, value in changes.items():
        if key in FIXED_FIELDS:
            if _raw_id(value) != before[key]:
                errors.add(
                    key,
                    _("%(field)s cannot be changed after creation; create a new subscription")
                    % {"field": key},
                )
        elif key not in EDITABLE_FIELDS:
            errors.add(key, _("%(field)s cannot be changed") % {"field": key})
    errors.raise_if_any()
    merged = {**before, **{k: v for k, v in changes.items() if k not in FIXED_FIELDS}}
    data = _validate(
        shop=subscription.shop,
        data=merged,
        kept_variant_ids=frozenset(li["variant_id"] for li in before["line_items"]),
    )
    if (
        data.begins_at != subscription.begins_at
        and subscription.proxy_orders.filter(
            Q(placed_at__isnull=False) | Q(order__isnull=False)
        ).exists()
    ):
        raise ValidationFailed(
            {"begins_at": [_("Begins at cannot be changed once an order has been placed")]}
        )
    # Each is required: `_validate` raised otherwise.
    assert data.payment_method is not None and data.shipping_method is not None
    assert data.begins_at is not None
    subscription.payment_method = data.payment_method
    subscription.shipping_method = data.shipping_method
    subscription.begins_at, subscription.ends_at = data.begins_at, data.ends_at
    subscription.bill_address, subscription.ship_address = data.bill_address, data.ship_address
    subscription.save()
    _write_lines(subscription, data.lines)
    subscription_estimate(subscription=subscription, now=now)
    proxy_orders_sync(subscriptions=[subscription], now=now)
    issues = propagate_subscription_changes(subscription=subscription, now=now)
    after = _current_values(subscription)
    changed = {
        key: {"from": jsonable(before[key]), "to": jsonable(after[key])}
        for key in EDITABLE_FIELDS
        if before[key] != after[key]
    }
    _record(subscription, "updated", actor, {"changes": changed, "order_update_issues": issues})
    if changed:
        emails.subscription_email_queue(
            subscription=subscription,
            kind=emails.SUBSCRIPTION_CHANGED,
            now=now,
            extra={"changes": sorted(changed)},
        )
    return subscription, issues


@transaction.atomic
def subscription_pause(
    *,
    subscription: Subscription,
    open_orders: str | None,
    resume_on: date | None = None,
    actor: Actor = None,
    now: datetime | None = None,
) -> Subscription:
    """Stop placements until unpaused (by hand, or on `resume_on`). Orders already placed in
    open cycles are kept or canceled as `open_orders` says.

    Raises Conflict (field open_orders) when there are such orders and no choice was given,
    Conflict when canceled or already paused, ValidationFailed for a past resume date."""
    now = now or timezone.now()
    subscription = _lock(subscription)
    _refuse_if_canceled(subscription)
    if subscription.paused_at is not None:
        raise Conflict(_("This subscription is already paused."))
    if resume_on is not None and resume_on <= _today_in_shop(subscription.shop, now):
        raise ValidationFailed({"resume_on": [_("Resume on must be a date in the future")]})
    placed = _check_open_orders(subscription, open_orders, now)
    if open_orders == "cancel":
        for proxy in placed:
            _cancel_proxy(proxy, now)
    subscription.paused_at, subscription.resume_on = now, resume_on
    subscription.save(update_fields=["paused_at", "resume_on", "updated_at"])
    _record(
        subscription,
        "paused",
        actor,
        {
            "open_orders": open_orders,
            "resume_on": jsonable(resume_on),
            "canceled_orders": [p.order_id for p in placed] if open_orders == "cancel" else [],
        },
    )
    emails.subscription_email_queue(
        subscription=subscription,
        kind=emails.SUBSCRIPTION_PAUSED,
        now=now,
        extra={
            "resume_on": resume_on.isoformat() if resume_on else None,
            **emails.placed_orders_context(
                kept=placed if open_orders != "cancel" else [],
                canceled=placed if open_orders == "cancel" else [],
            ),
        },
    )
    return subscription


@transaction.atomic
def subscription_unpause(
    *, subscription: Subscription, actor: Actor = None, now: datetime | None = None
) -> tuple[Subscription, list[dict[str, Any]]]:
    """Resume placements. The subscription is validated again (a Stripe consent withdrawn in
    the meantime is reported, not ignored); orders due in cycles open now are placed at once,
    after commit. Returns (subscription, order update issues).

    Raises Conflict when not paused or canceled, ValidationFailed when no longer valid."""
    now = now or timezone.now()
    subscription = _lock(subscription)
    _refuse_if_canceled(subscription)
    if subscription.paused_at is None:
        raise Conflict(_("This subscription is not paused."))
    current = _current_values(subscription)
    _validate(
        shop=subscription.shop,
        data=current,
        kept_variant_ids=frozenset(li["variant_id"] for li in current["line_items"]),
    )
    subscription.paused_at, subscription.resume_on = None, None
    subscription.save(update_fields=["paused_at", "resume_on", "updated_at"])
    subscription_estimate(subscription=subscription, now=now)
    proxy_orders_sync(subscriptions=[subscription], now=now)
    issues = propagate_subscription_changes(subscription=subscription, now=now)
    due = list(
        subscription.proxy_orders.filter(
            open_q(now, prefix="order_cycle__"),
            state=ProxyOrderState.PENDING,
            order__isnull=True,
        ).values_list("pk", flat=True)
    )
    _record(subscription, "unpaused", actor, {"placing": due})
    _place_after_commit(due, now)
    emails.subscription_email_queue(
        subscription=subscription, kind=emails.SUBSCRIPTION_RESUMED, now=now
    )
    return subscription, issues


def subscriptions_unpause_due(*, now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Unpause every paused subscription whose resume date has come (in its shop's time zone).
    Each one is its own transaction; returns {subscription id: errors} for those that could
    not be unpaused (they stay paused)."""
    now = now or timezone.now()
    failures: dict[int, dict[str, Any]] = {}
    candidates = Subscription.objects.filter(
        canceled_at__isnull=True, paused_at__isnull=False, resume_on__isnull=False
    ).select_related("shop")
    for subscription in candidates:
        if subscription.resume_on is None or subscription.resume_on > _today_in_shop(
            subscription.shop, now
        ):
            continue
        try:
            subscription_unpause(subscription=subscription, now=now)
        except ValidationFailed as exc:
            failures[subscription.pk] = exc.errors
    return failures


@transaction.atomic
def subscription_cancel(
    *,
    subscription: Subscription,
    open_orders: str | None,
    actor: Actor = None,
    now: datetime | None = None,
) -> Subscription:
    """Cancel for good: every delivery of a cycle not closed yet is canceled, except orders
    already placed when `open_orders` is "keep" (they are confirmed at close).

    Raises Conflict (field open_orders) when placed orders exist and no choice was given."""
    now = now or timezone.now()
    subscription = _lock(subscription)
    _refuse_if_canceled(subscription)
    placed = _check_open_orders(subscription, open_orders, now)
    kept = {p.pk for p in placed} if open_orders == "keep" else set()
    proxies = (
        subscription.proxy_orders.filter(current_q(now, prefix="order_cycle__"))
        .exclude(state__in=[ProxyOrderState.CANCELED, ProxyOrderState.CONFIRMED])
        .select_related("order")
        .order_by("pk")
    )
    for proxy in proxies:
        if proxy.pk not in kept:
            _cancel_proxy(proxy, now)
    subscription.canceled_at = now
    subscription.save(update_fields=["canceled_at", "updated_at"])
    _record(
        subscription,
        "canceled",
        actor,
        {
            "open_orders": open_orders,
            "kept_orders": sorted(p.order_id for p in placed if p.pk in kept),
        },
    )
    emails.subscription_email_queue(
        subscription=subscription,
        kind=emails.SUBSCRIPTION_CANCELED,
        now=now,
        extra=emails.placed_orders_context(
            kept=[p for p in placed if p.pk in kept],
            canceled=[p for p in placed if p.pk not in kept],
        ),
    )
    return subscription


def _lock_proxy(proxy_order: ProxyOrder) -> ProxyOrder:
    return (
        ProxyOrder.objects.select_for_update(of=("self",))
        .select_related("order_cycle", "order", "subscription__shop")
        .get(pk=proxy_order.pk)
    )


def _refuse_if_closed(proxy: ProxyOrder, now: datetime, message: str) -> None:
    if order_cycle_is_closed(proxy.order_cycle, now=now):
        raise Conflict(message % {"cycle": proxy.order_cycle.name})


@transaction.atomic
def proxy_order_cancel(
    *, proxy_order: ProxyOrder, actor: Actor = None, now: datetime | None = None
) -> ProxyOrder:
    """Skip one delivery while its cycle is not closed; a placed order is canceled and its
    stock released. Raises Conflict once the cycle has closed."""
    now = now or timezone.now()
    proxy = _lock_proxy(proxy_order)
    _refuse_if_closed(
        proxy, now, _("%(cycle)s has closed: this delivery can no longer be skipped.")
    )
    if proxy.state == ProxyOrderState.CANCELED:
        return proxy
    _cancel_proxy(proxy, now)
    _record(
        proxy.subscription,
        "delivery_skipped",
        actor,
        {
            "proxy_order_id": proxy.pk,
            "order_cycle_id": proxy.order_cycle_id,
            "order_id": proxy.order_id,
        },
    )
    return proxy


@transaction.atomic
def proxy_order_resume(
    *, proxy_order: ProxyOrder, actor: Actor = None, now: datetime | None = None
) -> ProxyOrder:
    """Re-instate a skipped delivery while its cycle is not closed: a canceled order is
    resumed (taking back the stock still there), a never-placed one is pending again and, if
    the cycle is open and the subscription active, placed at once after commit.

    Raises Conflict once the cycle has closed or when the subscription is canceled."""
    now = now or timezone.now()
    proxy = _lock_proxy(proxy_order)
    _refuse_if_closed(
        proxy, now, _("%(cycle)s has closed: this delivery can no longer be resumed.")
    )
    subscription = proxy.subscription
    if subscription.canceled_at is not None:
        raise Conflict(_("This subscription is canceled: its deliveries cannot be resumed."))
    order = proxy.order
    order_canceled = order is not None and order.state == OrderState.CANCELED
    if proxy.state != ProxyOrderState.CANCELED and not order_canceled:
        return proxy
    place_now = False
    if order is not None:
        if order_canceled:
            method = order_payment_method(order=order) or subscription.payment_method
            order_resume(order=order)
            order_refresh_totals(order=order, payment_method=method, new_payment=True)
        proxy.state = ProxyOrderState.PLACED
    else:
        proxy.state, proxy.placed_at = ProxyOrderState.PENDING, None
        place_now = (
            has_opened(opens_at=proxy.order_cycle.opens_at, now=now)
            and subscription.paused_at is None
        )
    proxy.canceled_at = None
    proxy.save(update_fields=["state", "placed_at", "canceled_at", "updated_at"])
    _record(
        subscription,
        "delivery_resumed",
        actor,
        {
            "proxy_order_id": proxy.pk,
            "order_cycle_id": proxy.order_cycle_id,
            "order_id": proxy.order_id,
        },
    )
    if place_now:
        _place_after_commit([proxy.pk], now)
    return proxy


@transaction.atomic
def proxy_order_retry(
    *, proxy_order: ProxyOrder, actor: Actor = None, now: datetime | None = None
) -> ProxyOrder:
    """Try again to place a delivery that was found empty (or failed) while its cycle is open:
    back to pending and placed at once after commit. Raises Conflict otherwise."""
    now = now or timezone.now()
    proxy = _lock_proxy(proxy_order)
    cycle = proxy.order_cycle
    if not order_cycle_is_open(cycle, now=now):
        raise Conflict(
            _("%(cycle)s is not open: this delivery can only be retried while it is open.")
            % {"cycle": cycle.name}
        )
    if proxy.state not in (ProxyOrderState.EMPTY, ProxyOrderState.FAILED) or proxy.order_id:
        raise Conflict(_("Only a delivery found empty or failed can be retried."))
    if proxy.subscription.canceled_at is not None:
        raise Conflict(_("This subscription is canceled: its deliveries cannot be retried."))
    proxy.state, proxy.reason, proxy.placed_at = ProxyOrderState.PENDING, "", None
    proxy.save(update_fields=["state", "reason", "placed_at", "updated_at"])
    _record(
        proxy.subscription,
        "delivery_retried",
        actor,
        {"proxy_order_id": proxy.pk, "order_cycle_id": proxy.order_cycle_id},
    )
    _place_after_commit([proxy.pk], now)
    return proxy
