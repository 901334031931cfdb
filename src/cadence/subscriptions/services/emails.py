"""Emails to a subscription's buyer, and the sender details every buyer email shares.

Every email to a buyer is written in the buyer's language, shows the shop's name as sender
and takes replies at the shop's contact address: `buyer_email_build` / `buyer_email_queue`
are the one place that says so (placement, confirmation and the lifecycle use them).

The subscription emails (started, changed, paused, resumed, canceled) are queued in the
transaction of the event that causes them, so a rolled-back event sends nothing. Their
context is a snapshot taken with the event (a handful of lines, unlike placement's bulk
rows): the buyer reads the subscription as it was when it changed, even if it changes again
before the email goes out. A shop can turn them off (`Enterprise.send_subscription_emails`).

The order emails (placed, confirmed, payment failed, authentication needed) are written in
bulk by placement and confirmation: their outbox row stores only a reference to the order
(`order_email_reference`), expanded when the email is sent (`order_email_context_from_db`,
registered for those kinds with the notifications registry).

The shop's summaries (placement, confirmation) share how they read a cycle's proxy orders
and list them by outcome: `summary_orders` and `SummaryLists`, rendered by the templates'
`_summary_list` partial.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import OuterRef, QuerySet
from django.utils.translation import gettext as _

from cadence.bulk import stream_rows
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle
from cadence.cycles.selectors import current_q
from cadence.enterprises.models import Enterprise
from cadence.notifications.models import Email
from cadence.notifications.services import email_build, email_queue
from cadence.orders.models import Order, OrderState, PaymentState, ShippingMethod
from cadence.orders.selectors import order_is_short
from cadence.payments.models import Payment, PaymentMethod, PaymentMethodKind
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, Subscription
from cadence.subscriptions.selectors import line_item_available, subscription_estimates

# Lifecycle event -> email kind (templates notifications/<kind>{_subject.txt,.txt,.html}).
SUBSCRIPTION_STARTED = "subscription_started"
SUBSCRIPTION_CHANGED = "subscription_changed"
SUBSCRIPTION_PAUSED = "subscription_paused"
SUBSCRIPTION_RESUMED = "subscription_resumed"
SUBSCRIPTION_CANCELED = "subscription_canceled"


def buyer_name(customer: Customer, bill_address: dict[str, Any] | None) -> str:
    """How an email greets the buyer: the billing first name, else the customer's, else the
    email address."""
    name: str = (bill_address or {}).get("first_name") or customer.first_name or customer.email
    return name


def buyer_email_build(
    *,
    kind: str,
    customer: Customer,
    shop: Enterprise,
    context: dict[str, Any],
    dedup_key: str | None = None,
) -> Email:
    """An unsaved outbox row to a shop's buyer (for `emails_queue_bulk`): in the customer's
    language, from the shop's name, replies to the shop's contact email."""
    return email_build(
        to=customer.email,
        kind=kind,
        context=context,
        language=customer.language,
        from_name=shop.name,
        reply_to=shop.contact_email,
        dedup_key=dedup_key,
    )


def buyer_email_queue(
    *,
    kind: str,
    customer: Customer,
    shop: Enterprise,
    context: dict[str, Any],
    dedup_key: str | None = None,
) -> Email | None:
    """Queue one email to a shop's buyer in the current transaction (see `buyer_email_build`);
    None when `dedup_key` says it exists already."""
    email = buyer_email_build(
        kind=kind, customer=customer, shop=shop, context=context, dedup_key=dedup_key
    )
    return email_queue(
        to=email.to,
        kind=email.kind,
        context=email.context,
        language=email.language,
        from_name=email.from_name,
        reply_to=email.reply_to,
        dedup_key=email.dedup_key,
    )


def subscriptions_url() -> str:
    """The buyer's subscriptions page (for buyers with a user account)."""
    return f"{settings.BASE_URL}/account/subscriptions/"


def _orders(proxies: list[ProxyOrder]) -> list[dict[str, Any]]:
    """Placed orders named in a pause or cancel email (proxies loaded with order and cycle)."""
    return [
        {
            "number": proxy.order.number if proxy.order else "",
            "cycle": proxy.order_cycle.name,
            "closes_at": proxy.order_cycle.closes_at.isoformat(),
        }
        for proxy in proxies
    ]


def next_cycle_of_subscription(*, subscription: Subscription, now: datetime) -> OrderCycle | None:
    """The first cycle of the subscription's own schedule that is in its range (closes
    between `begins_at` and `ends_at`, the rule of `domain.in_range`) and not closed at `now`:
    the cycle of its next order. None when the schedule has none yet."""
    cycles = subscription.schedule.order_cycles.filter(
        current_q(now), closes_at__gte=subscription.begins_at
    )
    if subscription.ends_at is not None:
        cycles = cycles.filter(closes_at__lte=subscription.ends_at)
    return cycles.order_by("closes_at", "id").first()


def subscription_email_context(*, subscription: Subscription, now: datetime) -> dict[str, Any]:
    """What every subscription email shows, as plain JSON: the shop, the schedule, the lines
    with quantities and estimated prices, the estimate of the next delivery, the first and
    last day (in the shop's time zone), whether it starts later than `now`, and the cycle of
    its next order.

    Amounts are strings; `*_at` values ISO strings in UTC; `*_on` values ISO dates in the
    shop's zone (see `notifications.rendering`)."""
    shop, customer = subscription.shop, subscription.customer
    tz = ZoneInfo(shop.timezone)
    lines = list(subscription.line_items.select_related("variant__product").order_by("pk"))
    available = line_item_available(subscription, now=now)
    totals = subscription_estimates(subscription, now=now)
    cycle = next_cycle_of_subscription(subscription=subscription, now=now)
    return {
        "timezone": shop.timezone,
        "currency": shop.currency,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "customer_name": buyer_name(customer, subscription.bill_address),
        "has_account": customer.user_id is not None,
        "subscriptions_url": subscriptions_url(),
        "schedule": {"name": subscription.schedule.name},
        "lines": [
            {
                "name": line.variant.full_name,
                "quantity": line.quantity,
                "price": str(line.variant.price),
                "amount": str(line.variant.price * line.quantity),
                "available": available.get(line.pk, False),
            }
            for line in lines
        ],
        "estimate": {key: str(value) for key, value in totals.items()},
        "shipping": {"name": subscription.shipping_method.name},
        "payment_method": {"name": subscription.payment_method.name},
        "begins_on": subscription.begins_at.astimezone(tz).date().isoformat(),
        "starts_later": subscription.begins_at > now,
        "ends_on": subscription.ends_at.astimezone(tz).date().isoformat()
        if subscription.ends_at
        else None,
        "next_cycle": {
            "name": cycle.name,
            "opens_at": cycle.opens_at.isoformat(),
            "closes_at": cycle.closes_at.isoformat(),
        }
        if cycle is not None
        else None,
    }


def subscription_email_queue(
    *,
    subscription: Subscription,
    kind: str,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> Email | None:
    """Queue one subscription email to the buyer in the caller's transaction, unless the
    shop turned these emails off or the customer has no email address (returns None).

    `extra` adds event details to the context (resume date, orders kept or canceled,
    what changed)."""
    shop, customer = subscription.shop, subscription.customer
    if not shop.send_subscription_emails or not customer.email:
        return None
    context = subscription_email_context(subscription=subscription, now=now)
    context.update(extra or {})
    return buyer_email_queue(kind=kind, customer=customer, shop=shop, context=context)


def placed_orders_context(*, kept: list[ProxyOrder], canceled: list[ProxyOrder]) -> dict[str, Any]:
    """The pause and cancel emails' account of orders already placed in open cycles."""
    return {"kept_orders": _orders(kept), "canceled_orders": _orders(canceled)}


# --- the shop's summaries ------------------------------------------------------------------

# Orders listed per outcome in a summary; beyond it the email says how many more (a cycle of
# thousands of orders stays a readable email and a small outbox row).
SUMMARY_LIST_LIMIT = 500


def summary_due(*, left: QuerySet[ProxyOrder], key: str) -> bool:
    """Whether the shop's summary keyed `key` is due: nothing is `left` to do and it was not
    queued yet. One query: either is found by the first row of a UNION ALL."""
    queued = Email.objects.filter(dedup_key=key).values("pk")
    return not left.order_by().values("pk").union(queued, all=True).exists()


@dataclass(frozen=True)
class SummaryOrder:
    """One proxy order as a shop's summary reads it."""

    state: str
    reason: str
    order_id: int | None
    number: str
    order_state: str | None
    payment_state: str | None
    method_kind: str
    customer: str  # "First Last <email>", or the email
    short: bool = False  # placed with less than asked (read only where `short` is annotated)


def with_shortage(proxy_orders: QuerySet[ProxyOrder]) -> QuerySet[ProxyOrder]:
    """The proxy orders annotated with `short`: their order was placed with less than
    asked for (read in the same query as the rows, by `summary_orders`)."""
    return proxy_orders.annotate(short=order_is_short(OuterRef("order_id")))


_SUMMARY_FIELDS = (
    "state",
    "reason",
    "order_id",
    "order__number",
    "order__state",
    "order__payment_state",
    "subscription__payment_method__kind",
    "subscription__customer__email",
    "subscription__customer__first_name",
    "subscription__customer__last_name",
)


def summary_orders(proxy_orders: QuerySet[ProxyOrder]) -> Iterator[SummaryOrder]:
    """The proxy orders, in pk order, streamed (memory does not grow with the cycle). Rows
    carry `short` where the queryset is `with_shortage`."""
    fields: tuple[str, ...] = _SUMMARY_FIELDS
    if "short" in proxy_orders.query.annotations:
        fields += ("short",)
    for row in stream_rows(proxy_orders, fields=fields, order=("pk",)):
        state, reason, order_id, number, order_state, payment_state, kind, email, first, last = row[
            :10
        ]
        name = f"{first} {last}".strip()
        yield SummaryOrder(
            state=state,
            reason=reason or "",
            order_id=order_id,
            number=number or "",
            order_state=order_state,
            payment_state=payment_state,
            method_kind=kind or "",
            customer=f"{name} <{email}>" if name else email,
            short=bool(row[10]) if len(row) > 10 else False,
        )


def confirmation_outcome(order: SummaryOrder) -> tuple[str, str] | None:
    """The confirmation summary's list for this row and the reason it shows: a confirmed
    order by its payment ("" when its payment state has no list), or a subscription that
    failed without an order; None for any other row. Text is in the active language."""
    if order.order_state != OrderState.CONFIRMED:
        if order.state == ProxyOrderState.FAILED and order.order_id is None:
            return "not_placed", order.reason
        return None
    if order.payment_state == PaymentState.PENDING:
        by_card = order.method_kind == PaymentMethodKind.STRIPE
        return ("to_charge" if by_card else "to_collect"), ""
    if order.payment_state == PaymentState.FAILED:
        return "failed_payment", order.reason or _("No reason given by the payment provider.")
    by_payment: dict[str, str] = {
        PaymentState.PAID: "paid_orders",
        PaymentState.REQUIRES_AUTHORIZATION: "awaiting_authentication",
        PaymentState.VOID: "voided",
    }
    return by_payment.get(order.payment_state or "", ""), ""


class SummaryLists:
    """Orders of a summary sorted into named lists of JSON rows `{number, customer, reason}`,
    each kept to SUMMARY_LIST_LIMIT rows while counting them all."""

    def __init__(self, *names: str) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        self.counts: Counter[str] = Counter()

    def add(self, name: str, order: SummaryOrder, *, reason: str = "") -> None:
        self.counts[name] += 1
        if len(self.rows[name]) < SUMMARY_LIST_LIMIT:
            self.rows[name].append(
                {"number": order.number, "customer": order.customer, "reason": reason}
            )

    def context(self) -> dict[str, Any]:
        """Each list under its name, plus `counts` and `more` (rows not listed) by name."""
        return {
            **self.rows,
            "counts": {name: self.counts[name] for name in self.rows},
            "more": {name: self.counts[name] - len(rows) for name, rows in self.rows.items()},
        }


def account_url() -> str:
    return f"{settings.BASE_URL}/account/"


def order_email_context(
    *,
    order: Order,
    lines: Iterable[tuple[str, int, int, Decimal]],
    adjustments: Iterable[tuple[str, Decimal]],
    shop: Enterprise,
    order_cycle: OrderCycle,
    customer_name: str,
    has_account: bool,
    shipping: ShippingMethod | None = None,
    payment_method: PaymentMethod | None = None,
) -> dict[str, Any]:
    """The JSON data the order emails are rendered from (lines: name, quantity, requested,
    unit price). Amounts are strings, dates ISO strings in UTC."""
    rows = [
        {
            "name": name,
            "quantity": quantity,
            "requested": requested,
            "reduced": quantity < requested,
            "price": str(price),
            "amount": str(price * quantity),
        }
        for name, quantity, requested, price in lines
    ]
    return {
        "timezone": shop.timezone,
        "shop": {"name": shop.name, "contact_email": shop.contact_email},
        "cycle": {"name": order_cycle.name},
        "customer_name": customer_name,
        "has_account": has_account,
        "account_url": account_url(),
        "allow_changes": shop.allow_order_changes,
        "changes_until": order_cycle.closes_at.isoformat(),
        "order": {
            "number": order.number,
            "currency": order.currency,
            "item_total": str(order.item_total),
            "fee_total": str(order.fee_total),
            "total": str(order.total),
            "payment_state": order.payment_state,
        },
        "lines": rows,
        "reduced": any(r["reduced"] for r in rows),
        "adjustments": [{"label": label, "amount": str(amount)} for label, amount in adjustments],
        "shipping": {"name": shipping.name, "description": shipping.description}
        if shipping
        else None,
        "payment_method": {"name": payment_method.name, "description": payment_method.description}
        if payment_method
        else None,
    }


# The emails whose outbox row stores `order_email_reference`: each is rendered through
# `order_email_context_from_db`, registered for these kinds in `SubscriptionsConfig.ready()`.
ORDER_EMAIL_KINDS = ("placement", "confirmation", "failed_payment", "authentication")


def order_email_reference(*, order_id: int, timezone_name: str, **extra: Any) -> dict[str, Any]:
    """What an order email's outbox row stores (for a kind of `ORDER_EMAIL_KINDS`): a
    reference to the order, expanded by `order_email_context_from_db` when the email is
    rendered for sending. Writing the
    reference instead of the whole order keeps placement's bulk INSERT small; the email
    shows the order as it is when sent (seconds later), which is what the buyer can see."""
    return {
        "order_id": order_id,
        "timezone": timezone_name,
        **extra,
    }


def order_email_context_from_db(reference: dict[str, Any]) -> dict[str, Any]:
    """The full context of an order email from its outbox reference (called at send time).
    Rows queued before the email registry also carry a `builder` path, left out here."""
    order = Order.objects.select_related("shop", "order_cycle", "customer", "shipping_method").get(
        pk=reference["order_id"]
    )
    payment = Payment.objects.select_related("method").filter(order=order).order_by("-pk").first()
    lines = order.line_items.select_related("variant__product").order_by("pk")
    context = order_email_context(
        order=order,
        lines=[
            (li.variant.full_name, li.quantity, li.requested_quantity, li.price) for li in lines
        ],
        adjustments=list(order.adjustments.order_by("pk").values_list("label", "amount")),
        shop=order.shop,
        order_cycle=order.order_cycle,
        customer_name=buyer_name(order.customer, order.bill_address),
        has_account=order.customer.user_id is not None,
        shipping=order.shipping_method,
        payment_method=payment.method if payment else None,
    )
    context.update({k: v for k, v in reference.items() if k not in ("builder", "order_id")})
    return context


def buyer_email_row(
    *, kind: str, to: str, language: str, shop: Enterprise, context: dict[str, Any]
) -> tuple[Any, ...]:
    """An outbox row to the buyer (values for `EMAIL_COLUMNS`), as `buyer_email_build` makes
    it, for the bulk writer `emails_queue_rows`."""
    return (
        to,
        kind,
        context,
        language or "en",
        shop.name[:200],
        shop.contact_email,
    )
