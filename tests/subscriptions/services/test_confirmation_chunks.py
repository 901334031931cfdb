"""Confirmation of orders paid by hand, a chunk at a time: one transaction per chunk, the
same guards and outcome as one order at a time, a bounded number of queries, and nothing
done twice after a worker is killed mid-way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cadence.notifications.models import Email
from cadence.notifications.rendering import render_email
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.orders.services import order_cancel
from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import confirmation
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.placement import place_cycle
from cadence.subscriptions.services.processing import run_tick
from tests.support.workers import crash_worker_run
from tests.support.worlds import assert_no_email_twice, make_world


def _placed_world(n: int):
    world = make_world(on_hand=(100_000, 100_000, 100_000))
    for i in range(n):
        world.subscribe([(world.variants[0], 1 + i % 3), (world.variants[1], 1)])
    place_cycle(order_cycle=world.cycle)
    ids = list(
        ProxyOrder.objects.filter(order_cycle=world.cycle, state=ProxyOrderState.PLACED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert len(ids) == n
    return world, ids


@pytest.mark.django_db
def test_a_chunk_confirms_the_orders_still_to_confirm_and_leaves_the_changed_ones(monkeypatch):
    """Between the chunk's read and its transaction, two orders are canceled and another
    worker confirms a third: the chunk confirms the other orders only (their payment of
    the final total, one email each); the changed ones keep their state, payment and get
    no email, and the canceled ones are reported as skipped, as one order at a time did."""
    world, ids = _placed_world(8)
    orders = {p.pk: p.order for p in ProxyOrder.objects.filter(pk__in=ids).select_related("order")}
    canceled, taken = ids[1:3], ids[5]
    read = confirmation._manual

    def read_then_changed(proxy_order_ids):
        rows = read(proxy_order_ids)
        for proxy_id in canceled:
            assert order_cancel(order=orders[proxy_id])
        ProxyOrder.objects.filter(pk=taken).update(state=ProxyOrderState.CONFIRMED)
        Order.objects.filter(pk=orders[ids[0]].pk).update(total=Decimal("12.34"))
        return rows

    monkeypatch.setattr(confirmation, "_manual", read_then_changed)
    now = world.cycle.closes_at + timedelta(minutes=1)

    summary = confirmation._confirm_chunk(order_cycle=world.cycle, proxy_order_ids=ids, now=now)

    expected = [pk for pk in ids if pk not in (*canceled, taken)]
    assert summary.confirmed == expected
    assert summary.skipped == len(canceled) and not summary.errors and not summary.retry
    states = dict(ProxyOrder.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert {pk for pk, state in states.items() if state == ProxyOrderState.CONFIRMED} == {
        *expected,
        taken,
    }
    assert all(states[pk] == ProxyOrderState.PLACED for pk in canceled)
    emailed = [e.context["order_id"] for e in Email.objects.filter(kind="confirmation")]
    assert sorted(emailed) == sorted(orders[pk].pk for pk in expected)
    for pk in expected:
        order = Order.objects.get(pk=orders[pk].pk)
        assert (order.state, order.confirmed_at, order.payment_state) == (
            OrderState.CONFIRMED,
            now,
            PaymentState.PENDING,
        )
        assert Payment.objects.get(order=order).amount == order.total
    assert Payment.objects.get(order=orders[ids[0]]).amount == Decimal("12.34")
    for pk in (*canceled, taken):
        order = Order.objects.get(pk=orders[pk].pk)
        assert order.state != OrderState.CONFIRMED and order.confirmed_at is None
        assert Payment.objects.get(order=order).updated_at < now


@pytest.mark.django_db
def test_a_chunk_that_fails_is_confirmed_one_order_at_a_time_with_the_same_outcome(
    monkeypatch,
):
    """Should the chunk's transaction fail, nothing of it is kept and the orders are
    confirmed one at a time instead: the same states, payments and email contents."""
    world, ids = _placed_world(6)
    now = world.cycle.closes_at + timedelta(minutes=1)
    chunked = confirmation._confirm_chunk(order_cycle=world.cycle, proxy_order_ids=ids[:3], now=now)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(confirmation, "_confirm_manual_chunk", broken)
    one_by_one = confirmation._confirm_chunk(
        order_cycle=world.cycle, proxy_order_ids=ids[3:], now=now
    )

    assert (chunked.confirmed, one_by_one.confirmed) == (ids[:3], ids[3:])
    rows = list(
        ProxyOrder.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("state", "order__state", "order__payment_state", "order__confirmed_at")
    )
    assert len(set(rows)) == 1
    emails = {
        e.context["order_id"]: e for e in Email.objects.filter(kind="confirmation").order_by("pk")
    }
    assert len(emails) == 6

    def as_sent(proxy_id):
        proxy = ProxyOrder.objects.select_related("order").get(pk=proxy_id)
        email = emails[proxy.order_id]
        parts = render_email(email)
        same = [part.replace(proxy.order.number, "#").replace(email.to, "@") for part in parts]
        return (email.kind, email.language, email.from_name, email.reply_to, *same)

    # Twins: subscription i and i + 3 ask the same lines.
    for i in range(3):
        assert as_sent(ids[i]) == as_sent(ids[i + 3])


def orders_of(proxy_ids):
    return list(ProxyOrder.objects.filter(pk__in=proxy_ids).values_list("order_id", flat=True))


@pytest.mark.django_db
def test_a_chunk_runs_as_many_queries_for_200_orders_as_for_10(
    django_capture_on_commit_callbacks,
):
    """A chunk of orders paid by hand costs a fixed number of queries, whatever its size:
    under 15 per 100 orders from 200 orders on. (The emails are handed to the sender once,
    for the whole chunk, when it commits; their sending is the outbox's, counted apart.)"""
    counts = []
    for n in (10, 200):
        world, ids = _placed_world(n)
        now = world.cycle.closes_at + timedelta(minutes=1)
        with django_capture_on_commit_callbacks() as after_commit:
            with CaptureQueriesContext(connection) as queries:
                summary = confirmation._confirm_chunk(
                    order_cycle=world.cycle, proxy_order_ids=ids, now=now
                )
        assert summary.confirmed == ids
        assert len(after_commit) == 1
        assert (
            Email.objects.filter(
                kind="confirmation", status="queued", context__order_id__in=orders_of(ids)
            ).count()
            == n
        )
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 15, [q["sql"][:80] for q in queries.captured_queries]


@pytest.mark.django_db
def test_confirming_a_cycle_twice_confirms_and_emails_each_order_once():
    """A second run (a retry, the catch-up) finds nothing left to confirm."""
    world, ids = _placed_world(25)
    now = world.cycle.closes_at + timedelta(minutes=1)

    first = confirm_cycle(order_cycle=world.cycle, now=now)
    second = confirm_cycle(order_cycle=world.cycle, now=now + timedelta(minutes=1))

    assert first.confirmed == ids and not second.did_something
    assert Email.objects.filter(kind="confirmation").count() == 25
    assert_no_email_twice()


# The crash worker confirms chunks of 10; 45 orders paid by hand make five chunks, each one
# transaction: lock reads, UPDATE of the proxy orders, orders and payments, email INSERT.
CHUNK_KILL_POINTS = [
    ('UPDATE "orders_order"', 1, "after"),  # first chunk, orders moved, payments not yet
    ('UPDATE "payments_payment"', 1, "after"),  # first chunk, mid-transaction
    ('UPDATE "subscriptions_proxyorder"', 3, "after"),  # third chunk, proxy orders moved
    ('INSERT INTO "notifications_email"', 3, "after"),  # third chunk, just before commit
    ('UPDATE "subscriptions_proxyorder"', 4, "before"),  # after three chunks committed
    ('UPDATE "orders_order"', 5, "before"),  # last chunk, mid-transaction
]


@pytest.mark.postgres
@pytest.mark.parametrize(("fragment", "nth", "when"), CHUNK_KILL_POINTS)
def test_a_worker_killed_while_confirming_chunks_confirms_and_emails_each_order_once(
    transactional_db, fragment, nth, when
):
    """A worker confirming a cycle of 45 orders paid by hand is SIGKILLed inside a chunk or
    between chunks: each chunk is then all done (orders confirmed, payments set, emails
    queued) or all to do; a tick after the close confirms the rest, every order once, with
    one confirmation email each and none queued twice."""
    world, ids = _placed_world(45)

    assert crash_worker_run("confirm", world.cycle.pk, fragment, nth, when) == -9

    emailed = {e.context["order_id"] for e in Email.objects.filter(kind="confirmation")}
    confirmed = 0
    for state, order_state, order_id in ProxyOrder.objects.filter(pk__in=ids).values_list(
        "state", "order__state", "order_id"
    ):
        if state == ProxyOrderState.CONFIRMED:
            assert order_state == OrderState.CONFIRMED and order_id in emailed
            confirmed += 1
        else:
            assert (state, order_state) == (ProxyOrderState.PLACED, OrderState.COMPLETE)
            assert order_id not in emailed
    assert confirmed % 10 == 0 and confirmed < 45  # whole chunks only

    after_close = world.cycle.closes_at + timedelta(minutes=2)
    run_tick(now=after_close)
    assert set(ProxyOrder.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        ProxyOrderState.CONFIRMED
    }
    assert Order.objects.filter(state=OrderState.CONFIRMED).count() == 45
    assert Email.objects.filter(kind="confirmation").count() == 45
    assert Email.objects.filter(kind="confirmation_summary").count() == 1
    assert_no_email_twice()
    assert run_tick(now=after_close + timedelta(minutes=1)) == []
