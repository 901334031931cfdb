"""Card charges at confirmation are sent many at once (`STRIPE_CONCURRENCY`), from a pool of
threads that only makes the gateway's network calls; every outcome is recorded as the
sequential confirmation records it, one charge per order whatever is retried or killed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper

from cadence.notifications.models import Email
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.payments.gateways import ChargeResult, ChargeStatus, PreparedCharge
from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services import confirmation
from cadence.subscriptions.services.confirmation import GIVE_UP_CHARGING_AFTER, confirm_cycle
from cadence.subscriptions.services.emails import order_email_context_from_db
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support import stripe as payments_stripe
from tests.support.gateways import use_gateway
from tests.support.stripe import (
    authenticated_event,
    confirm,
    post,
    signed,
    stripe_shop,
    stripe_world,
)
from tests.support.workers import ROOT
from tests.support.worlds import make_world

pytestmark = pytest.mark.django_db

# The fake Stripe's fixtures, shared with the payment tests.
localstripe_server = payments_stripe.localstripe_server
localstripe = payments_stripe.localstripe

PAID = ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_ok")
DECLINED = ChargeResult(ChargeStatus.FAILED, error="Your card was declined.")
AUTHENTICATE = ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_3ds")
UNREACHABLE = ChargeResult(ChargeStatus.RETRY, error="Card payments are not available.")


class PooledGateway:
    """The card provider answering by payment id. Records on which thread each send ran and
    how many sends overlapped; `barrier` (optional) holds each send until that many are in
    flight at once. It charges without a saved card (the buyers here have none)."""

    needs_saved_card = False

    def __init__(self, answers: dict[int, ChargeResult], *, barrier=None):
        self.answers = answers
        self.barrier = barrier
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.threads: set[str] = set()

    def send(self, prepared: PreparedCharge) -> ChargeResult:
        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            return self.answers[prepared.request.payment_id]
        finally:
            with self.lock:
                self.in_flight -= 1


def _card_world(n: int, answers: list[ChargeResult]):
    """A shop whose `n` subscriptions pay by card, placed; the gateway's answer of each
    order by payment id, cycling through `answers`."""
    world = make_world()
    stripe = factories.payment_method(world.shop, kind="stripe")
    proxies = [world.subscribe(payment_method=stripe) for _ in range(n)]
    place_cycle(order_cycle=world.cycle)
    for proxy in proxies:
        proxy.refresh_from_db()
    payments = list(
        Payment.objects.filter(order__proxy_order__in=proxies).order_by("order__proxy_order")
    )
    by_payment = {p.pk: answers[i % len(answers)] for i, p in enumerate(payments)}
    return world, proxies, by_payment


def _outcomes(world) -> list[tuple]:
    """What confirmation left, per order in proxy order: states, reason, payment, emails."""
    rows = []
    for proxy in ProxyOrder.objects.filter(order_cycle=world.cycle).order_by("pk"):
        order = Order.objects.get(pk=proxy.order_id)
        payment = Payment.objects.get(order=order)
        emails = sorted(
            (e.kind, order_email_context_from_db(e.context).get("error", ""))
            for e in Email.objects.filter(context__order_id=order.pk).exclude(kind="placement")
        )
        rows.append(
            (
                proxy.state,
                proxy.reason,
                order.state,
                order.payment_state,
                payment.state,
                payment.error,
                payment.gateway_reference,
                tuple(emails),
            )
        )
    return rows


def test_charges_are_sent_at_once_from_the_pool(monkeypatch, settings):
    """With STRIPE_CONCURRENCY=4, four charges are in flight together (each send waits for
    the three others at a barrier, which would time out if they were sent one by one); the
    database work (prepare, record) stays on the calling thread: the pool's threads never
    open a database connection."""
    world, proxies, answers = _card_world(8, [PAID, DECLINED, AUTHENTICATE, PAID])
    gateway = PooledGateway(answers, barrier=threading.Barrier(4, timeout=10))
    use_gateway(monkeypatch, gateway, concurrency=4)
    opened_by = []
    connect = BaseDatabaseWrapper.connect

    def connect_noting_the_thread(self):
        opened_by.append(threading.current_thread().name)
        return connect(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "connect", connect_noting_the_thread)

    summary = confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    assert gateway.most_in_flight == 4
    main = threading.current_thread().name
    assert main not in gateway.threads and len(gateway.threads) == 4
    assert set(opened_by) <= {main}
    assert summary.confirmed == sorted(p.pk for p in proxies)
    assert summary.paid == [proxies[i].pk for i in (0, 3, 4, 7)]
    assert summary.payment_failed == {proxies[i].pk: "Your card was declined." for i in (1, 5)}
    assert summary.requires_action == [proxies[2].pk, proxies[6].pk]
    assert Email.objects.filter(kind="confirmation_summary").count() == 1


def test_the_pool_records_exactly_what_one_at_a_time_records(monkeypatch, settings):
    """The same answers sent one order at a time and from a pool of three leave the same
    proxy order, order and payment states, reasons and buyer emails."""
    answers = [PAID, DECLINED, AUTHENTICATE, UNREACHABLE, PAID]
    results = []
    for concurrency in (1, 3):
        world, _proxies, by_payment = _card_world(10, answers)
        use_gateway(monkeypatch, PooledGateway(by_payment), concurrency=concurrency)
        summary = confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)
        results.append((_outcomes(world), len(summary.confirmed), len(summary.retry)))

    sequential, pooled = results
    assert pooled == sequential
    assert sequential[1:] == (8, 2)
    states = {row[:5] for row in sequential[0]}
    assert states == {
        ("confirmed", "", "confirmed", "paid", "paid"),
        ("failed", "Your card was declined.", "confirmed", "failed", "failed"),
        ("confirmed", "", "confirmed", "requires_authorization", "requires_authorization"),
        ("placed", "", "complete", "pending", "pending"),
    }


def test_a_send_that_raises_leaves_its_order_to_retry_and_the_others_are_recorded(
    monkeypatch, settings
):
    """An exception on a pool thread is 'try again later' for that order only."""
    settings.STRIPE_CONCURRENCY = 4
    world, proxies, answers = _card_world(3, [PAID])
    gateway = PooledGateway(answers)
    broken = next(iter(answers))
    original = gateway.send

    def send(prepared):
        if prepared.request.payment_id == broken:
            raise ConnectionError("connection reset")
        return original(prepared)

    gateway.send = send
    use_gateway(monkeypatch, gateway, concurrency=None)

    summary = confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    assert summary.retry == [proxies[0].pk]
    assert summary.paid == [proxies[1].pk, proxies[2].pk]


# --- Against localstripe -------------------------------------------------------------------


def _intents(localstripe, payments) -> list[list[tuple[str, str]]]:
    """Per payment, its PaymentIntents in localstripe: (id, status)."""
    result = []
    for payment in payments:
        payment.refresh_from_db()
        result.append(
            [(pi["id"], pi["status"]) for pi in localstripe.payment_intents(payment=payment)]
        )
    return result


CARDS = ["4242424242424242", "4000000000000341", "4000002500003155", "5555555555554444"]


def test_localstripe_pooled_charges_one_intent_per_order(localstripe, settings):
    """Against the fake Stripe, through the real SDK from four threads: each order gets one
    PaymentIntent, the accepted cards are paid, the declined one failed with its reason and
    email, the 3-D Secure one awaits authentication with its email."""
    settings.STRIPE_CONCURRENCY = 4
    w = stripe_shop(CARDS * 2)

    summary = confirm_cycle(order_cycle=w.cycle, now=w.closed)

    intents = _intents(localstripe, w.payments)
    assert all(len(per_order) == 1 for per_order in intents), intents
    expected = {
        "4242424242424242": (PaymentState.PAID, "succeeded"),
        "4000000000000341": (PaymentState.FAILED, "requires_payment_method"),
        "4000002500003155": (PaymentState.REQUIRES_AUTHORIZATION, "requires_action"),
        "5555555555554444": (PaymentState.PAID, "succeeded"),
    }
    for number, payment, [(intent_id, status)] in zip(CARDS * 2, w.payments, intents, strict=True):
        assert (payment.state, status) == expected[number]
        if payment.state != PaymentState.FAILED:  # a declined charge may name no intent
            assert payment.gateway_reference == intent_id
    assert len(summary.paid) == 4 and len(summary.requires_action) == 2
    assert set(summary.payment_failed.values()) == {"Your card was declined."}
    assert Email.objects.filter(kind="failed_payment").count() == 2
    assert Email.objects.filter(kind="authentication").count() == 2
    assert Email.objects.filter(kind="confirmation").count() == 4


class _Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


@pytest.mark.parametrize("where", ["before the record", "inside the record"])
def test_a_crash_between_the_charge_and_its_record_charges_each_order_once(
    localstripe, settings, monkeypatch, where
):
    """The process dies after Stripe charged and before confirmation recorded it (just
    before the order's transaction, or inside it, before its email is written: the
    transaction rolls back, PaymentIntent id included). The orders stay placed; the re-run
    sends the same idempotency keys and records them paid: one succeeded PaymentIntent per
    order."""
    settings.STRIPE_CONCURRENCY = 4
    w = stripe_shop(["4242424242424242"] * 3)
    if where == "before the record":

        def crash(**kwargs):
            raise _Crash

        monkeypatch.setattr(confirmation, "_record", crash)
    else:

        def crash(**kwargs):
            raise _Crash

        monkeypatch.setattr(confirmation, "emails_queue_rows", crash)

    with pytest.raises(_Crash):
        confirm_cycle(order_cycle=w.cycle, now=w.closed)
    # Charges not yet sent when the process died are not sent at all.
    charged = _intents(localstripe, w.payments)
    assert any(charged)
    assert all(
        [status for _id, status in per_order] in ([], ["succeeded"]) for per_order in charged
    )
    assert ProxyOrder.objects.filter(pk__in=[p.pk for p in w.proxies]).filter(
        state=ProxyOrderState.PLACED
    ).count() == len(w.proxies)
    monkeypatch.undo()
    settings.STRIPE_CONCURRENCY = 4

    summary = confirm_cycle(order_cycle=w.cycle, now=w.closed + timedelta(minutes=1))

    assert len(summary.paid) == 3
    intents = _intents(localstripe, w.payments)
    assert all([status for _id, status in per_order] == ["succeeded"] for per_order in intents)
    for first, again in zip(charged, intents, strict=True):
        if first:
            assert again == first  # the PaymentIntent of the first attempt, not a new one
    assert [p.state for p in w.payments] == [PaymentState.PAID] * 3
    assert Email.objects.filter(kind="confirmation").count() == 3


# --- A payment that fails after the buyer was asked to authenticate ------------------------


def test_a_failed_authentication_marks_the_proxy_order_failed_and_emails_once(localstripe, client):
    """The off-session charge asked for authentication; the buyer's attempt fails and
    Stripe says so by webhook (twice, and once more under another event id): the proxy
    order becomes failed with the reason, the payment and order are failed, and the buyer
    gets one failed-payment email."""
    w = stripe_world(card="4000002500003155")
    confirm(w)
    assert (w.proxy.state, w.payment.state) == (
        ProxyOrderState.CONFIRMED,
        PaymentState.REQUIRES_AUTHORIZATION,
    )
    event = authenticated_event(localstripe, w, success=False)

    for delivery in (event, event, {**event, "id": "evt_auth_failed_2"}):
        assert post(client, *signed(delivery)).status_code == 200

    w.proxy.refresh_from_db()
    w.payment.refresh_from_db()
    w.order.refresh_from_db()
    assert (w.proxy.state, w.proxy.reason) == (
        ProxyOrderState.FAILED,
        "The payment was not authorised.",
    )
    assert w.order.state == OrderState.CONFIRMED
    assert (w.payment.state, w.order.payment_state) == (PaymentState.FAILED, PaymentState.FAILED)
    [email] = Email.objects.filter(kind="failed_payment")
    assert email.to == "ann@example.org"
    assert order_email_context_from_db(email.context)["error"] == (
        "The payment was not authorised."
    )


def test_the_failure_hook_leaves_orders_without_a_subscription_alone(world):
    """The hook only marks a proxy order that was confirmed; any other payment is no
    concern of subscriptions."""
    from cadence.payments.services import on_payment_failed, payment_failed_notify

    assert confirmation.proxy_order_payment_failed in on_payment_failed
    (proxy,) = [world.subscribe()]
    place_cycle(order_cycle=world.cycle)
    proxy.refresh_from_db()
    payment = Payment.objects.get(order_id=proxy.order_id)

    payment_failed_notify(payment=payment, reason="x")  # still placed: not touched

    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED
    assert not Email.objects.filter(kind="failed_payment").exists()


# --- A gateway that stays unreachable ------------------------------------------------------


def test_an_unreachable_gateway_still_ends_with_the_summary_listing_orders_to_charge(
    monkeypatch, settings
):
    """Every run while the gateway is unreachable leaves the card orders placed (no
    summary yet); the first run `GIVE_UP_CHARGING_AFTER` after the close confirms them with
    their payment pending, emails the buyers their confirmation and sends the shop its
    summary, which lists them as still to charge, next to the manual ones."""
    settings.STRIPE_CONCURRENCY = 2
    world, proxies, answers = _card_world(3, [UNREACHABLE])
    manual = world.subscribe()
    place_cycle(order_cycle=world.cycle)
    gateway = PooledGateway(answers)
    use_gateway(monkeypatch, gateway, concurrency=None)
    closes = world.cycle.closes_at

    for later in (timedelta(0), timedelta(hours=1), GIVE_UP_CHARGING_AFTER - timedelta(minutes=1)):
        summary = confirm_cycle(order_cycle=world.cycle, now=closes + later)
        assert summary.retry == [p.pk for p in proxies]
        assert not Email.objects.filter(kind="confirmation_summary").exists()

    last = confirm_cycle(order_cycle=world.cycle, now=closes + GIVE_UP_CHARGING_AFTER)

    assert last.retry == [] and last.confirmed == [p.pk for p in proxies]
    for proxy in proxies:
        proxy.refresh_from_db()
        assert proxy.state == ProxyOrderState.CONFIRMED
        assert Payment.objects.get(order_id=proxy.order_id).state == PaymentState.PENDING
    assert Email.objects.filter(kind="confirmation").count() == 4  # the manual one too
    report = Email.objects.get(kind="confirmation_summary")
    assert report.context["confirmed"] == 4
    to_charge = report.context["to_charge"]
    assert len(to_charge) == 3 and len(report.context["to_collect"]) == 1
    manual.refresh_from_db()
    assert manual.state == ProxyOrderState.CONFIRMED

    # Nothing is left: a later run does nothing and sends nothing again.
    again = confirm_cycle(order_cycle=world.cycle, now=closes + GIVE_UP_CHARGING_AFTER * 2)
    assert not again.did_something
    assert Email.objects.filter(kind="confirmation_summary").count() == 1


def test_localstripe_unreachable_until_the_last_retry(localstripe, settings):
    """The same with the real SDK and nothing listening where Stripe should be."""
    w = stripe_shop(["4242424242424242", "4242424242424242"])
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    first = confirm_cycle(order_cycle=w.cycle, now=w.closed)
    assert first.retry == [p.pk for p in w.proxies]
    last = confirm_cycle(order_cycle=w.cycle, now=w.cycle.closes_at + GIVE_UP_CHARGING_AFTER)

    assert last.confirmed == [p.pk for p in w.proxies]
    report = Email.objects.get(kind="confirmation_summary")
    assert len(report.context["to_charge"]) == 2
    settings.STRIPE_API_BASE = localstripe.base
    assert _intents(localstripe, w.payments) == [[], []]


# --- A worker killed in the middle of the pool (PostgreSQL) --------------------------------

_KILLED_WORKER = r"""
import os, signal, sys, threading
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
import django

django.setup()
from django.conf import settings

from cadence.cycles.models import OrderCycle
from cadence.payments.gateways.stripe import StripeGateway
from cadence.subscriptions.services import confirmation

cycle_id, nth = int(sys.argv[1]), int(sys.argv[2])
settings.STRIPE_CONCURRENCY = 4
real_send = StripeGateway.send
lock = threading.Lock()
answered = 0


def send(self, prepared):
    global answered
    result = real_send(self, prepared)  # Stripe has charged
    with lock:
        answered += 1
        if answered == nth:  # the machine loses power, charges in flight on other threads
            os.kill(os.getpid(), signal.SIGKILL)
    return result


StripeGateway.send = send
cycle = OrderCycle.objects.get(pk=cycle_id)
confirmation.confirm_cycle(order_cycle=cycle, now=cycle.closes_at + timedelta(minutes=1))
sys.exit(3)  # the kill point was never reached
"""


@pytest.mark.postgres
@pytest.mark.parametrize("nth", [1, 6])
def test_a_worker_killed_mid_pool_charges_each_order_once(transactional_db, localstripe, nth):
    """A worker process sending charges from its pool is SIGKILLed right after Stripe
    answered its `nth` charge (others in flight, some recorded, some not); the next run
    confirms every order: one succeeded PaymentIntent per order, each paid, one
    confirmation email each."""
    import os
    import subprocess
    import sys

    from django.db import connection

    w = stripe_shop(["4242424242424242"] * 9)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "LOG_LEVEL": "CRITICAL",
        "STRIPE_SECRET_KEY": payments_stripe.SECRET_KEY,
        "STRIPE_API_BASE": localstripe.base,
    }
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WORKER, str(w.cycle.pk), str(nth)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    before = _intents(localstripe, w.payments)
    assert sum(len(per_order) for per_order in before) >= nth
    left = ProxyOrder.objects.filter(order_cycle=w.cycle, state=ProxyOrderState.PLACED).count()
    assert left > 0  # the crash left work to do

    summary = confirm_cycle(order_cycle=w.cycle, now=w.closed + timedelta(minutes=5))

    assert len(summary.confirmed) == left
    after = _intents(localstripe, w.payments)
    assert all([status for _id, status in per_order] == ["succeeded"] for per_order in after)
    for first, again in zip(before, after, strict=True):
        if first:
            assert again == first
    assert [p.state for p in w.payments] == [PaymentState.PAID] * 9
    assert ProxyOrder.objects.filter(
        order_cycle=w.cycle, state=ProxyOrderState.CONFIRMED
    ).count() == len(w.proxies)
    confirmations = Counter(Email.objects.filter(kind="confirmation").values_list("to", flat=True))
    assert sorted(confirmations.values()) == [1] * 9


def test_a_charge_still_processing_at_confirmation_is_decided_by_its_webhook(
    monkeypatch, settings, client
):
    """Stripe was still processing two charges when confirmation recorded them (payment
    pending, order confirmed): the later payment_intent.succeeded pays the first; the
    later payment_intent.payment_failed fails the second, marks its proxy order failed and
    emails its buyer once."""
    settings.STRIPE_WEBHOOK_SECRET = payments_stripe.WEBHOOK_SECRET
    world, proxies, answers = _card_world(2, [PAID])
    for n, payment_id in enumerate(answers):
        answers[payment_id] = ChargeResult(ChargeStatus.PENDING, reference=f"pi_slow_{n}")
    use_gateway(monkeypatch, PooledGateway(answers), concurrency=None)
    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)
    payments = [Payment.objects.get(order_id=p.order_id) for p in proxies]
    assert [p.state for p in payments] == [PaymentState.PENDING] * 2

    events = [
        ("evt_slow_0", "payment_intent.succeeded", "pi_slow_0"),
        ("evt_slow_1", "payment_intent.payment_failed", "pi_slow_1"),
        ("evt_slow_1", "payment_intent.payment_failed", "pi_slow_1"),
    ]
    for event_id, kind, intent in events:
        body = {"id": event_id, "type": kind, "data": {"object": {"id": intent, "metadata": {}}}}
        assert post(client, *signed(body)).status_code == 200

    for proxy, payment in zip(proxies, payments, strict=True):
        proxy.refresh_from_db()
        payment.refresh_from_db()
    assert [p.state for p in payments] == [PaymentState.PAID, PaymentState.FAILED]
    assert [p.state for p in proxies] == [ProxyOrderState.CONFIRMED, ProxyOrderState.FAILED]
    assert proxies[1].reason == "The payment was not authorised."
    assert Order.objects.get(pk=proxies[0].order_id).payment_state == PaymentState.PAID
    assert Email.objects.filter(kind="failed_payment").count() == 1


def test_a_payment_pending_before_confirmation_is_left_to_confirmation(world, client, settings):
    """A webhook for a payment whose order is not confirmed yet changes nothing: the
    outcome is confirmation's to record."""
    settings.STRIPE_WEBHOOK_SECRET = payments_stripe.WEBHOOK_SECRET
    stripe = factories.payment_method(world.shop, kind="stripe")
    proxy = world.subscribe(payment_method=stripe)
    place_cycle(order_cycle=world.cycle)
    proxy.refresh_from_db()
    payment = Payment.objects.get(order_id=proxy.order_id)
    body = {
        "id": "evt_early",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_early", "metadata": {"payment_id": str(payment.pk)}}},
    }

    assert post(client, *signed(body)).status_code == 200

    payment.refresh_from_db()
    assert (payment.state, payment.gateway_reference) == (PaymentState.PENDING, "")


def test_a_run_stops_calling_a_gateway_that_looks_down(monkeypatch, settings):
    """Once a run has had `2 x STRIPE_CONCURRENCY` (at least 8) 'unreachable' answers in a
    row, its other card orders are left to retry without a call (each call may wait for a
    timeout); at the last retry they are all confirmed still to charge."""
    settings.STRIPE_CONCURRENCY = 2
    world, proxies, answers = _card_world(30, [UNREACHABLE])
    gateway = PooledGateway(answers)
    sent = []
    original = gateway.send

    def send(prepared):
        sent.append(prepared.request.payment_id)
        return original(prepared)

    gateway.send = send
    use_gateway(monkeypatch, gateway, concurrency=None)

    summary = confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    assert summary.retry == [p.pk for p in proxies]
    assert 8 <= len(sent) <= 14  # the limit, plus what was in flight when it was reached
    last = confirm_cycle(
        order_cycle=world.cycle, now=world.cycle.closes_at + GIVE_UP_CHARGING_AFTER
    )
    assert last.confirmed == [p.pk for p in proxies]
    report = Email.objects.get(kind="confirmation_summary")
    assert len(report.context["to_charge"]) == 30


def test_one_answer_from_the_gateway_resets_the_count(monkeypatch, settings):
    """Unreachable answers broken by a successful one do not stop the run."""
    settings.STRIPE_CONCURRENCY = 1
    world, proxies, answers = _card_world(30, [UNREACHABLE] * 5 + [PAID])
    gateway = PooledGateway(answers)
    use_gateway(monkeypatch, gateway, concurrency=None)

    summary = confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    assert len(summary.paid) == 5 and len(summary.retry) == 25
    assert gateway.most_in_flight == 1
