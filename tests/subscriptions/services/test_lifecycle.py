"""Creating, editing, pausing, unpausing and canceling subscriptions; skipping, resuming and
retrying one delivery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cadence.errors import Conflict, ValidationFailed
from cadence.orders.models import OrderState, PaymentState
from cadence.payments.models import ChargeConsent, Payment, SavedCard
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState, SubscriptionEvent
from cadence.subscriptions.selectors import (
    line_item_available,
    subscription_estimates,
    subscriptions_for_shop,
)
from cadence.subscriptions.services.lifecycle import (
    proxy_order_cancel,
    proxy_order_resume,
    proxy_order_retry,
    subscription_cancel,
    subscription_pause,
    subscription_unpause,
    subscription_update,
    subscriptions_unpause_due,
)
from tests.support import factories
from tests.support.subscriptions import place, subscribe, world

pytestmark = pytest.mark.django_db


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.errors


def proxies(sub) -> dict[int, str]:
    return dict(sub.proxy_orders.values_list("order_cycle_id", "state"))


# --- create ------------------------------------------------------------------------------


def test_create_writes_lines_estimates_proxy_orders_and_event():
    """A valid subscription gets its lines, estimates, one pending proxy order per not-closed
    cycle of its schedule, addresses copied from the customer, and a "created" event."""
    w = world()
    user = factories.user()
    sub = subscribe(w, actor=user)
    assert list(sub.line_items.values_list("variant_id", "quantity", "price_estimate")) == [
        (w.apples.pk, 2, Decimal("4.00"))
    ]
    assert sub.bill_address == w.customer.bill_address
    assert sub.shipping_fee_estimate == Decimal("2.00")
    assert sub.payment_fee_estimate == Decimal("0.50")
    assert proxies(sub) == {w.open.pk: "pending", w.upcoming.pk: "pending"}
    event = SubscriptionEvent.objects.get(subscription=sub)
    assert (event.kind, event.actor) == ("created", user)
    assert subscription_estimates(sub, now=w.now) == {
        "items": Decimal("8.00"),
        "fees": Decimal("2.50"),
        "total": Decimal("10.50"),
    }


def test_create_estimates_use_variant_price_and_every_fee_of_next_cycle():
    """A line's price estimate is the variant's price (what the order line will cost); the
    fees are every fee of the next cycle to close (per order, per item, percent) plus the
    shipping and payment fees, not those of a later cycle."""
    w = world()
    w.open.fees.create(name="Packing", kind="per_item", amount=Decimal("1.75"))
    w.open.fees.create(name="Hub", kind="per_order", amount=Decimal("1.00"))
    w.open.fees.create(name="Market", kind="percent", amount=Decimal("10"))
    w.upcoming.fees.create(name="Other", kind="per_item", amount=Decimal("9.00"))
    sub = subscribe(w)
    assert sub.line_items.get().price_estimate == Decimal("4.00")
    # Items 2 × 4.00; fees 2 × 1.75 + 1.00 + 10% of 8.00 + shipping 2.00 + payment 0.50.
    assert subscription_estimates(sub, now=w.now) == {
        "items": Decimal("8.00"),
        "fees": Decimal("7.80"),
        "total": Decimal("15.80"),
    }


def test_estimate_total_is_the_placed_order_total():
    """With fees of every kind (cycle per order, per item and percent, shipping, payment fixed
    and percent), odd prices that round, and enough stock, the estimated total of a
    subscription is exactly the total of the order placement makes in that cycle."""
    from cadence.subscriptions.services.placement import place_proxy_orders

    w = world()
    w.apples.price = Decimal("3.33")
    w.apples.save()
    w.open.fees.create(name="Packing", kind="per_item", amount=Decimal("0.35"))
    w.open.fees.create(name="Hub", kind="per_order", amount=Decimal("1.25"))
    w.open.fees.create(name="Market", kind="percent", amount=Decimal("7.5"))
    card_like = factories.payment_method(w.shop, kind="manual", fee="0.30", fee_percent="2.9")
    sub = subscribe(
        w,
        payment_method_id=card_like.pk,
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 3},
            {"variant_id": w.pears.pk, "quantity": 1},
        ],
    )
    estimates = subscription_estimates(sub, now=w.now)
    proxy = sub.proxy_orders.get(order_cycle=w.open)
    summary = place_proxy_orders(proxy_order_ids=[proxy.pk], now=w.now)
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED, (summary, proxy.reason)
    order = proxy.order
    assert (order.item_total, order.fee_total, order.total) == (
        estimates["items"],
        estimates["fees"],
        estimates["total"],
    )
    assert estimates["items"] == Decimal("15.99")


def test_estimates_leave_out_lines_the_next_cycle_does_not_offer():
    """A variant missing from the next cycle is not delivered in it: its line counts for
    nothing in the estimate (as placement gives it quantity 0)."""
    w = world()
    w.open.variants.remove(w.pears)
    sub = subscribe(
        w,
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 1},
            {"variant_id": w.pears.pk, "quantity": 2},
        ],
    )
    assert subscription_estimates(sub, now=w.now)["items"] == Decimal("4.00")


def test_create_requires_every_field():
    """Missing ids, dates, lines are each reported under their API field name."""
    w = world()
    errors = errors_of(
        lambda: factories_free_create(
            w,
            customer_id=None,
            schedule_id=None,
            payment_method_id=None,
            shipping_method_id=None,
            begins_at=None,
            line_items=[],
        )
    )
    assert errors["customer_id"] == ["Customer is required"]
    assert errors["schedule_id"] == ["Schedule is required"]
    assert errors["payment_method_id"] == ["Payment method is required"]
    assert errors["shipping_method_id"] == ["Shipping method is required"]
    assert errors["begins_at"] == ["Begins at is required"]
    assert errors["line_items"] == ["Please add at least one product"]
    # With no customer to take them from, addresses are not reported missing as well.
    assert "bill_address" not in errors
    w.customer.bill_address = None
    w.customer.save()
    errors = errors_of(lambda: subscribe(w))
    assert errors == {"bill_address": ["Bill address is required"]}


def factories_free_create(w, **overrides):
    return subscribe(w, **overrides)


def test_create_refuses_other_shops_rows():
    """Customer, schedule and methods of another shop are not available to this shop."""
    w = world()
    other = factories.shop("Other Shop")
    errors = errors_of(
        lambda: subscribe(
            w,
            customer_id=factories.customer(other).pk,
            schedule_id=factories.schedule(other).pk,
            payment_method_id=factories.payment_method(other).pk,
            shipping_method_id=factories.shipping_method(other).pk,
        )
    )
    assert errors["customer_id"] == ["Customer is not available to Green Grocer"]
    assert errors["schedule_id"] == ["Schedule is not available to Green Grocer"]
    assert errors["payment_method_id"] == ["Payment method is not available to Green Grocer"]
    assert errors["shipping_method_id"] == ["Shipping method is not available to Green Grocer"]
    assert ProxyOrder.objects.count() == 0


def test_create_refuses_unknown_ids_and_other_payment_kinds():
    """An unknown id is "not available"; an "other" payment method is refused."""
    w = world()
    errors = errors_of(lambda: subscribe(w, customer_id=999999))
    assert errors == {"customer_id": ["Customer is not available to Green Grocer"]}
    other_kind = factories.payment_method(w.shop, kind="other")
    errors = errors_of(lambda: subscribe(w, payment_method_id=other_kind.pk))
    assert errors == {
        "payment_method_id": [
            "Payment method must be a manual (cash, cheque, transfer) or Stripe method"
        ]
    }


def test_create_with_stripe_reports_every_charge_problem():
    """Stripe needs a user account, allowed charges and a default card."""
    w = world()
    stripe = factories.payment_method(w.shop, kind="stripe")
    errors = errors_of(lambda: subscribe(w, payment_method_id=stripe.pk))
    assert errors["payment_method_id"] == [
        "Payment method: this customer has no user account, so no card can be charged"
    ]
    buyer = factories.user()
    w.customer.user = buyer
    w.customer.save()
    errors = errors_of(lambda: subscribe(w, payment_method_id=stripe.pk))
    assert errors["payment_method_id"] == [
        "Payment method: charges are not allowed by this customer",
        "Payment method: no default card available for this customer",
    ]
    SavedCard.objects.create(
        user=buyer, stripe_payment_method_id="pm_1", usable_off_session=True, is_default=True
    )
    ChargeConsent.objects.create(user=buyer, shop=w.shop, text="ok", given_at=timezone.now())
    assert subscribe(w, payment_method_id=stripe.pk).payment_method == stripe


def test_create_dates():
    """ends_at must be after begins_at (equal is refused)."""
    w = world()
    begins = w.now
    errors = errors_of(lambda: subscribe(w, begins_at=begins, ends_at=begins))
    assert errors == {"ends_at": ["Ends at must be after begins at"]}
    errors = errors_of(lambda: subscribe(w, begins_at="not a date"))
    assert errors == {"begins_at": ["Begins at is not a valid date and time"]}


def test_create_line_rules():
    """Duplicates, variants the shop may not sell, quantities below 1, unknown variants; a
    variant the shop may not sell is told by its id, like an unknown one (its name is not
    the shop's to see)."""
    w = world()
    stranger = factories.variant(factories.producer("Far Farm"), product_name="Plums")
    errors = errors_of(
        lambda: subscribe(
            w,
            line_items=[
                {"variant_id": w.apples.pk, "quantity": 1},
                {"variant_id": w.apples.pk, "quantity": 2},
                {"variant_id": stranger.pk, "quantity": 1},
                {"variant_id": w.pears.pk, "quantity": 0},
                {"variant_id": 987654, "quantity": 1},
            ],
        )
    )
    assert errors == {
        "line_items": [
            "Apples - 1 kg appears more than once",
            f"Variant {stranger.pk} is not available to Green Grocer",
            "Quantity must be at least 1 for Pears - 1 kg",
            "Variant 987654 is not available to Green Grocer",
        ]
    }


def test_create_allows_permitted_producer_and_variant_in_no_cycle_with_warning():
    """A permitted producer's variant in no open or upcoming cycle is allowed, flagged
    unavailable."""
    w = world()
    farm = factories.producer("Near Farm", supplies=[w.shop])
    plums = factories.variant(farm, product_name="Plums")
    sub = subscribe(
        w,
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 1},
            {"variant_id": plums.pk, "quantity": 3},
        ],
    )
    available = line_item_available(sub, now=w.now)
    by_variant = {li.variant_id: available[li.pk] for li in sub.line_items.all()}
    assert by_variant == {w.apples.pk: True, plums.pk: False}


def test_create_refuses_deleted_variant():
    """A deleted variant cannot be added."""
    w = world()
    w.pears.deleted_at = w.now
    w.pears.save()
    errors = errors_of(lambda: subscribe(w, line_items=[{"variant_id": w.pears.pk, "quantity": 1}]))
    assert errors == {"line_items": ["Pears - 1 kg has been deleted and cannot be added"]}


def test_create_address_errors_name_the_field():
    """A given address is cleaned; its problems are reported under its field."""
    w = world()
    errors = errors_of(lambda: subscribe(w, ship_address=factories.address(city="")))
    assert errors == {"ship_address": ["Ship address: city can't be blank"]}


# --- update ------------------------------------------------------------------------------


def test_update_changes_lines_keeps_row_ids_and_records_event():
    """line_items replaces the list; rows of variants that stay keep their id."""
    w = world()
    sub = subscribe(w)
    apple_line = sub.line_items.get()
    sub, issues = subscription_update(
        subscription=sub,
        changes={
            "line_items": [
                {"variant_id": w.apples.pk, "quantity": 5},
                {"variant_id": w.pears.pk, "quantity": 1},
            ]
        },
        now=w.now,
    )
    assert issues == []
    assert list(sub.line_items.values_list("id", "variant_id", "quantity")) == [
        (apple_line.pk, w.apples.pk, 5),
        (sub.line_items.get(variant=w.pears).pk, w.pears.pk, 1),
    ]
    event = sub.events.get(kind="updated")
    assert event.data["changes"]["line_items"]["to"] == [
        {"variant_id": w.apples.pk, "quantity": 5},
        {"variant_id": w.pears.pk, "quantity": 1},
    ]


def test_update_refuses_customer_and_schedule_changes():
    """Customer and schedule are fixed: a new subscription is needed to change them."""
    w = world()
    sub = subscribe(w)
    other = factories.schedule(w.shop)
    errors = errors_of(
        lambda: subscription_update(subscription=sub, changes={"schedule_id": other.pk}, now=w.now)
    )
    assert errors == {
        "schedule_id": ["schedule_id cannot be changed after creation; create a new subscription"]
    }
    # The same value again is harmless.
    subscription_update(subscription=sub, changes={"customer_id": w.customer.pk}, now=w.now)


def test_update_begins_at_only_before_first_placement():
    """begins_at can move until an order has been placed."""
    w = world()
    sub = subscribe(w)
    later = w.now + timedelta(days=6)
    sub, _ = subscription_update(subscription=sub, changes={"begins_at": later}, now=w.now)
    assert proxies(sub) == {w.upcoming.pk: "pending"}
    sub, _ = subscription_update(
        subscription=sub, changes={"begins_at": w.now - timedelta(days=1)}, now=w.now
    )
    place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    errors = errors_of(
        lambda: subscription_update(subscription=sub, changes={"begins_at": later}, now=w.now)
    )
    assert errors == {"begins_at": ["Begins at cannot be changed once an order has been placed"]}


def test_update_with_deleted_variant_already_on_subscription():
    """A variant deleted after it was added never breaks an update or the estimate; it shows
    as unavailable. Adding another deleted variant is refused."""
    w = world()
    sub = subscribe(
        w,
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 1},
            {"variant_id": w.pears.pk, "quantity": 2},
        ],
    )
    w.pears.deleted_at = w.now
    w.pears.save()
    sub, _ = subscription_update(
        subscription=sub, changes={"ends_at": w.now + timedelta(days=60)}, now=w.now
    )
    assert subscription_estimates(sub, now=w.now)["items"] == Decimal("4.00")
    available = line_item_available(sub, now=w.now)
    assert sorted(available.values()) == [False, True]
    sub, _ = subscription_update(
        subscription=sub,
        changes={
            "line_items": [
                {"variant_id": w.apples.pk, "quantity": 1},
                {"variant_id": w.pears.pk, "quantity": 3},
            ]
        },
        now=w.now,
    )
    assert sub.line_items.get(variant=w.pears).quantity == 3
    gone = factories.variant(w.shop, product_name="Quince")
    gone.deleted_at = w.now
    gone.save()
    errors = errors_of(
        lambda: subscription_update(
            subscription=sub,
            changes={"line_items": [{"variant_id": gone.pk, "quantity": 1}]},
            now=w.now,
        )
    )
    assert errors == {"line_items": ["Quince - 1 kg has been deleted and cannot be added"]}


def test_update_ends_at_removes_unplaced_proxy_orders_only():
    """An earlier end removes pending proxy orders now out of range, never placed ones."""
    w = world()
    sub = subscribe(w)
    place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    sub, _ = subscription_update(
        subscription=sub, changes={"ends_at": w.now - timedelta(days=1)}, now=w.now
    )
    assert proxies(sub) == {w.open.pk: "placed"}


def test_update_of_canceled_subscription_conflicts():
    """Cancel is final."""
    w = world()
    sub = subscribe(w)
    subscription_cancel(subscription=sub, open_orders=None, now=w.now)
    with pytest.raises(Conflict):
        subscription_update(subscription=sub, changes={"ends_at": None}, now=w.now)


def test_unknown_change_is_refused():
    """Only editable fields may be changed."""
    w = world()
    sub = subscribe(w)
    errors = errors_of(
        lambda: subscription_update(subscription=sub, changes={"paused_at": w.now}, now=w.now)
    )
    assert errors == {"paused_at": ["paused_at cannot be changed"]}


# --- pause, unpause, cancel ----------------------------------------------------------------


def test_pause_without_choice_conflicts_when_orders_are_placed():
    """Placed orders in open cycles need keep or cancel; nothing is written meanwhile."""
    w = world()
    sub = subscribe(w)
    place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    with pytest.raises(Conflict) as exc:
        subscription_pause(subscription=sub, open_orders=None, now=w.now)
    assert exc.value.field == "open_orders"
    sub.refresh_from_db()
    assert sub.paused_at is None


def test_pause_without_placed_orders_needs_no_choice():
    """Nothing placed: no question asked; pending proxy orders are kept."""
    w = world()
    sub = subscribe(w)
    sub = subscription_pause(subscription=sub, open_orders=None, now=w.now)
    assert sub.paused_at == w.now
    assert proxies(sub) == {w.open.pk: "pending", w.upcoming.pk: "pending"}
    assert sub.events.filter(kind="paused").exists()


def test_pause_keep_leaves_orders_placed():
    """keep: the placed order stays, to be confirmed at close."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    subscription_pause(subscription=sub, open_orders="keep", now=w.now)
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETE
    assert proxies(sub)[w.open.pk] == "placed"


def test_pause_cancel_cancels_orders_releases_stock_voids_payment():
    """cancel: the placed order is canceled, its stock given back, its payment voided."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    w.apples.refresh_from_db()
    assert w.apples.on_hand == 48
    subscription_pause(subscription=sub, open_orders="cancel", now=w.now)
    order.refresh_from_db()
    w.apples.refresh_from_db()
    assert order.state == OrderState.CANCELED
    assert w.apples.on_hand == 50
    assert list(Payment.objects.filter(order=order).values_list("state", flat=True)) == ["void"]
    assert proxies(sub) == {w.open.pk: "canceled", w.upcoming.pk: "pending"}


def test_pause_resume_on_must_be_future_and_bad_choice_refused():
    """resume_on today is refused; open_orders must be keep or cancel."""
    w = world()
    sub = subscribe(w)
    errors = errors_of(
        lambda: subscription_pause(
            subscription=sub, open_orders=None, resume_on=w.now.date(), now=w.now
        )
    )
    assert errors == {"resume_on": ["Resume on must be a date in the future"]}
    errors = errors_of(lambda: subscription_pause(subscription=sub, open_orders="maybe", now=w.now))
    assert errors == {"open_orders": ['open_orders must be "keep" or "cancel"']}


def test_pause_twice_conflicts():
    """A paused subscription cannot be paused again."""
    w = world()
    sub = subscribe(w)
    subscription_pause(subscription=sub, open_orders=None, now=w.now)
    with pytest.raises(Conflict):
        subscription_pause(subscription=sub, open_orders=None, now=w.now)


def test_unpause_places_due_order_at_once(django_capture_on_commit_callbacks):
    """Unpausing during an open cycle places that cycle's order after commit."""
    w = world()
    sub = subscribe(w)
    subscription_pause(subscription=sub, open_orders=None, now=w.now)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sub, issues = subscription_unpause(subscription=sub, now=w.now)
    assert callbacks[0].__qualname__.startswith("_place_after_commit")
    assert issues == []
    assert sub.paused_at is None
    proxy = sub.proxy_orders.get(order_cycle=w.open)
    assert proxy.state == "placed"
    assert proxy.order.line_items.get().quantity == 2
    assert sub.proxy_orders.get(order_cycle=w.upcoming).state == "pending"


def test_unpause_validates_again():
    """A Stripe consent withdrawn while paused is reported, the subscription stays paused."""
    w = world()
    buyer = factories.user()
    w.customer.user = buyer
    w.customer.save()
    SavedCard.objects.create(
        user=buyer, stripe_payment_method_id="pm_2", usable_off_session=True, is_default=True
    )
    consent = ChargeConsent.objects.create(
        user=buyer, shop=w.shop, text="ok", given_at=timezone.now()
    )
    stripe = factories.payment_method(w.shop, kind="stripe")
    sub = subscribe(w, payment_method_id=stripe.pk)
    subscription_pause(subscription=sub, open_orders=None, now=w.now)
    consent.withdrawn_at = timezone.now()
    consent.save()
    errors = errors_of(lambda: subscription_unpause(subscription=sub, now=w.now))
    assert errors == {
        "payment_method_id": ["Payment method: charges are not allowed by this customer"]
    }
    sub.refresh_from_db()
    assert sub.paused_at is not None


def test_unpause_due_on_resume_date(django_capture_on_commit_callbacks):
    """A subscription paused until a date unpauses itself on that date."""
    w = world()
    sub = subscribe(w)
    subscription_pause(
        subscription=sub,
        open_orders=None,
        resume_on=(w.now + timedelta(days=2)).date(),
        now=w.now,
    )
    assert subscriptions_unpause_due(now=w.now + timedelta(days=1)) == {}
    sub.refresh_from_db()
    assert sub.paused_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_unpause_due(now=w.now + timedelta(days=2))
    sub.refresh_from_db()
    assert (sub.paused_at, sub.resume_on) == (None, None)


def test_cancel_keep_and_cancel():
    """Cancel: pending proxy orders are canceled; a placed one stays with keep."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    with pytest.raises(Conflict):
        subscription_cancel(subscription=sub, open_orders=None, now=w.now)
    sub = subscription_cancel(subscription=sub, open_orders="keep", now=w.now)
    assert sub.canceled_at == w.now
    assert proxies(sub) == {w.open.pk: "placed", w.upcoming.pk: "canceled"}
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETE
    assert subscriptions_for_shop(shop=w.shop, status="canceled", now=w.now).get() == sub
    with pytest.raises(Conflict):
        subscription_cancel(subscription=sub, open_orders="cancel", now=w.now)


def test_cancel_with_cancel_cancels_placed_orders():
    """cancel: the placed order is canceled too."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    subscription_cancel(subscription=sub, open_orders="cancel", now=w.now)
    order.refresh_from_db()
    assert order.state == OrderState.CANCELED
    assert proxies(sub) == {w.open.pk: "canceled", w.upcoming.pk: "canceled"}


# --- one delivery --------------------------------------------------------------------------


def test_skip_and_resume_a_placed_order():
    """Skipping releases stock; resuming takes it back with a new pending payment."""
    w = world()
    w.open.fees.create(name="Packing", kind="per_order", amount=Decimal("1.00"))
    sub = subscribe(w)
    proxy = sub.proxy_orders.get(order_cycle=w.open)
    order = place(proxy, now=w.now)
    assert order.total == Decimal("11.50")
    proxy = proxy_order_cancel(proxy_order=proxy, now=w.now)
    assert proxy.state == "canceled"
    w.apples.refresh_from_db()
    assert w.apples.on_hand == 50
    proxy = proxy_order_resume(proxy_order=proxy, now=w.now)
    order.refresh_from_db()
    w.apples.refresh_from_db()
    assert (proxy.state, proxy.canceled_at) == ("placed", None)
    assert order.state == OrderState.COMPLETE
    assert w.apples.on_hand == 48
    assert list(order.payments.values_list("state", "amount")) == [
        (PaymentState.VOID, Decimal("11.50")),
        (PaymentState.PENDING, Decimal("11.50")),
    ]
    assert order.payment_state == PaymentState.PENDING
    assert sub.events.filter(kind__in=["delivery_skipped", "delivery_resumed"]).count() == 2


def test_skip_and_resume_refused_after_close():
    """Once the cycle has closed, neither skip nor resume is possible."""
    w = world()
    sub = subscribe(w)
    proxy = sub.proxy_orders.get(order_cycle=w.open)
    after_close = w.open.closes_at
    with pytest.raises(Conflict) as exc:
        proxy_order_cancel(proxy_order=proxy, now=after_close)
    assert "has closed" in exc.value.detail
    proxy_order_cancel(proxy_order=proxy, now=w.now)
    with pytest.raises(Conflict):
        proxy_order_resume(proxy_order=proxy, now=after_close)


def test_resume_unplaced_in_open_cycle_places_at_once(django_capture_on_commit_callbacks):
    """A skipped delivery never placed goes back to pending and is placed now if its cycle
    is open; one of an upcoming cycle waits."""
    w = world()
    sub = subscribe(w)
    open_proxy = sub.proxy_orders.get(order_cycle=w.open)
    later_proxy = sub.proxy_orders.get(order_cycle=w.upcoming)
    proxy_order_cancel(proxy_order=open_proxy, now=w.now)
    proxy_order_cancel(proxy_order=later_proxy, now=w.now)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        proxy_order_resume(proxy_order=later_proxy, now=w.now)
    assert callbacks == []
    later_proxy.refresh_from_db()
    assert later_proxy.state == "pending"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        proxy_order_resume(proxy_order=open_proxy, now=w.now)
    assert callbacks[0].__qualname__.startswith("_place_after_commit")
    open_proxy.refresh_from_db()
    assert open_proxy.state == "placed"


def test_retry_empty_only_while_open(django_capture_on_commit_callbacks):
    """An empty delivery can be retried while its cycle is open."""
    w = world()
    sub = subscribe(w)
    proxy = sub.proxy_orders.get(order_cycle=w.open)
    with pytest.raises(Conflict):
        proxy_order_retry(proxy_order=proxy, now=w.now)
    ProxyOrder.objects.filter(pk=proxy.pk).update(
        state=ProxyOrderState.EMPTY, reason="nothing", placed_at=w.now
    )
    with pytest.raises(Conflict):
        proxy_order_retry(proxy_order=proxy, now=w.open.closes_at)
    with django_capture_on_commit_callbacks(execute=True):
        proxy = proxy_order_retry(proxy_order=proxy, now=w.now)
    proxy.refresh_from_db()
    assert proxy.state == "placed"


# --- lists ---------------------------------------------------------------------------------


def test_list_filters_by_status_query_and_schedule():
    """Status is derived in SQL as in status_of; q matches email or name."""
    w = world()
    active = subscribe(w)
    bob = factories.customer(w.shop, "bob@example.org", first_name="Bob")
    pending = subscribe(w, customer_id=bob.pk, begins_at=w.now + timedelta(days=1))
    ended = subscribe(w, begins_at=w.now - timedelta(days=60), ends_at=w.now - timedelta(days=1))
    paused = subscription_pause(subscription=subscribe(w), open_orders=None, now=w.now)

    def ids(**kw):
        return [s.pk for s in subscriptions_for_shop(shop=w.shop, now=w.now, **kw)]

    assert ids(status="active") == [active.pk]
    assert ids(status="pending") == [pending.pk]
    assert ids(status="ended") == [ended.pk]
    assert ids(status="paused") == [paused.pk]
    assert ids(q="BOB") == [pending.pk]
    assert ids(q="Lee", status="active") == [active.pk]
    assert ids(schedule_id=w.schedule.pk) == [active.pk, pending.pk, ended.pk, paused.pk]
    with pytest.raises(ValidationFailed):
        ids(status="nonsense")
