"""Confirmation: when a cycle closes, each placed order is confirmed once, its payment taken
through the method's gateway, and the buyer told; the shop gets one summary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cadence.notifications.models import Email
from cadence.orders.models import Order, OrderState, PaymentState
from cadence.orders.services import order_cancel
from cadence.payments.gateways import ChargeResult, ChargeStatus
from cadence.payments.models import Payment
from cadence.subscriptions.models import ProxyOrderState
from cadence.subscriptions.services import confirmation
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.emails import order_email_context_from_db
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support.gateways import ScriptedGateway, use_gateway

pytestmark = pytest.mark.django_db


def _placed(world, n=1, **fields):
    proxies = [world.subscribe(**fields) for _ in range(n)]
    place_cycle(order_cycle=world.cycle)
    for proxy in proxies:
        proxy.refresh_from_db()
    return proxies


def test_manual_payment_confirms_the_order_and_leaves_the_payment_pending(world):
    """Manual (cash, transfer): order confirmed, payment still pending, confirmation email;
    the shop's confirmation summary is queued once."""
    (proxy,) = _placed(world)
    after_close = world.cycle.closes_at + timedelta(minutes=1)

    summary = confirm_cycle(order_cycle=world.cycle, now=after_close)

    proxy.refresh_from_db()
    assert summary.confirmed == [proxy.pk]
    assert proxy.state == ProxyOrderState.CONFIRMED and proxy.confirmed_at == after_close
    assert proxy.order.state == OrderState.CONFIRMED
    assert proxy.order.payment_state == PaymentState.PENDING
    assert Payment.objects.get(order=proxy.order).state == PaymentState.PENDING
    email = Email.objects.get(kind="confirmation")
    context = order_email_context_from_db(email.context)
    assert context["order"]["payment_state"] == PaymentState.PENDING
    assert Email.objects.filter(kind="confirmation_summary").count() == 1

    again = confirm_cycle(order_cycle=world.cycle, now=after_close + timedelta(hours=1))
    assert not again.did_something
    assert Email.objects.filter(kind="confirmation").count() == 1
    assert Email.objects.filter(kind="confirmation_summary").count() == 1


def test_nothing_is_confirmed_before_the_close(world):
    """An open cycle is not confirmed."""
    (proxy,) = _placed(world)
    assert not confirm_cycle(order_cycle=world.cycle).confirmed
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED


def test_a_canceled_order_is_not_confirmed_and_gets_no_email(world):
    """A skipped delivery (order canceled) is left alone at close."""
    (proxy,) = _placed(world)
    order_cancel(order=proxy.order)

    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    proxy.order.refresh_from_db()
    assert proxy.order.state == OrderState.CANCELED
    assert not Email.objects.filter(kind="confirmation").exists()


def test_every_gateway_outcome_is_recorded(world, monkeypatch):
    """succeeded -> paid; failed -> payment failed, reason kept, failed-payment email;
    requires_action -> awaiting authorisation, email with the authentication link; retry ->
    left placed for the next run, which charges with the same payment id."""
    proxies = _placed(world, 4, payment_method=factories.payment_method(world.shop, kind="stripe"))
    gateway = ScriptedGateway(
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_1"),
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined."),
        ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_3"),
        ChargeResult(ChargeStatus.RETRY),
    )
    use_gateway(monkeypatch, gateway)
    now = world.cycle.closes_at

    summary = confirm_cycle(order_cycle=world.cycle, now=now)

    states = []
    for proxy in proxies:
        proxy.refresh_from_db()
        states.append((proxy.state, proxy.order.payment_state))
    assert states == [
        (ProxyOrderState.CONFIRMED, PaymentState.PAID),
        (ProxyOrderState.FAILED, PaymentState.FAILED),
        (ProxyOrderState.CONFIRMED, PaymentState.REQUIRES_AUTHORIZATION),
        (ProxyOrderState.PLACED, PaymentState.PENDING),
    ]
    assert summary.paid == [proxies[0].pk] and summary.retry == [proxies[3].pk]
    assert proxies[1].reason == "Your card was declined."
    paid = Payment.objects.get(order=proxies[0].order)
    assert (paid.state, paid.gateway_reference) == (PaymentState.PAID, "pi_1")
    assert gateway.requests[0].amount == proxies[0].order.total == Decimal("20.00")
    failed_email = Email.objects.get(kind="failed_payment")
    assert order_email_context_from_db(failed_email.context)["error"] == "Your card was declined."
    auth = Email.objects.get(kind="authentication")
    auth_payment = Payment.objects.get(order=proxies[2].order)
    assert auth.context["auth_url"].endswith(f"/pay/authenticate/{auth_payment.pk}/")
    assert not Email.objects.filter(kind="confirmation_summary").exists()  # one still to do

    gateway.results.append(ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_4"))
    later = confirm_cycle(order_cycle=world.cycle, now=now + timedelta(minutes=1))
    assert later.confirmed == [proxies[3].pk]
    assert gateway.requests[-1].payment_id == gateway.requests[3].payment_id
    report = Email.objects.get(kind="confirmation_summary")
    assert report.context["confirmed"] == 4 and report.context["paid"] == 2
    assert [r["reason"] for r in report.context["failed_payment"]] == ["Your card was declined."]
    assert len(report.context["awaiting_authentication"]) == 1


def test_the_final_total_is_charged_after_an_edit(world, monkeypatch):
    """The payment is taken for the order's total at close, not the total at placement."""
    (proxy,) = _placed(world, payment_method=factories.payment_method(world.shop, kind="stripe"))
    proxy.order.total = Decimal("7.00")
    proxy.order.save(update_fields=["total"])
    gateway = ScriptedGateway(ChargeResult(ChargeStatus.SUCCEEDED))
    use_gateway(monkeypatch, gateway)

    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    assert gateway.requests[0].amount == Decimal("7.00")
    assert Payment.objects.get(order=proxy.order).amount == Decimal("7.00")


def test_manual_orders_are_confirmed_one_transaction_each_and_a_changed_one_is_left(world):
    """Orders paid by hand are read per chunk and confirmed each in its own transaction;
    one whose state changed since the chunk was read (another worker confirmed its proxy
    order) is left untouched, with no email, while the others are confirmed with the
    final total on their payment."""
    proxies = _placed(world, 3)
    rows = confirmation._manual([p.pk for p in proxies])
    assert [r.proxy_id for r in rows] == [p.pk for p in proxies]
    # Another worker got to the first one after the chunk was read.
    type(proxies[0]).objects.filter(pk=proxies[0].pk).update(state=ProxyOrderState.CONFIRMED)
    proxies[1].order.total = Decimal("12.34")
    proxies[1].order.save(update_fields=["total"])
    now = world.cycle.closes_at

    done = [confirmation._confirm_manual(row=r, shop=world.shop, now=now) for r in rows]

    assert done[0] is None and done[1] and done[2]
    proxies[0].order.refresh_from_db()
    assert proxies[0].order.state == OrderState.COMPLETE
    assert Email.objects.filter(kind="confirmation").count() == 2
    assert Payment.objects.get(order=proxies[1].order).amount == Decimal("12.34")
    assert proxies[2].order.__class__.objects.get(pk=proxies[2].order_id).state == (
        OrderState.CONFIRMED
    )


def test_an_order_canceled_after_the_chunk_was_read_leaves_its_proxy_order_placed(world):
    """When the order was canceled after the chunk was read, confirming it writes nothing at
    all: the proxy order's move to confirmed, already made in the same transaction, is
    rolled back, and no payment or email is touched."""
    (proxy,) = _placed(world)
    (row,) = confirmation._manual([proxy.pk])
    Order.objects.filter(pk=proxy.order_id).update(state=OrderState.CANCELED)

    done = confirmation._confirm_manual(row=row, shop=world.shop, now=world.cycle.closes_at)

    assert done is None
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED and proxy.confirmed_at is None
    assert Payment.objects.get(order_id=proxy.order_id).state == PaymentState.PENDING
    assert not Email.objects.filter(kind="confirmation").exists()


def test_the_confirmation_email_row_is_a_queued_outbox_row_to_the_buyer(
    world, django_capture_on_commit_callbacks
):
    """The confirmation email row carries the buyer's address and language, the shop as
    sender and reply-to, a reference to the order and no dedup key, and the outbox sends it
    once its chunk commits (tasks run at once in tests)."""
    customer = factories.customer(world.shop, language="fr")
    (proxy,) = _placed(world, customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at + timedelta(minutes=1))
        assert Email.objects.get(kind="confirmation").status == "queued"  # not before commit

    email = Email.objects.get(kind="confirmation")
    assert (email.to, email.language, email.from_name, email.reply_to) == (
        customer.email,
        "fr",
        world.shop.name,
        world.shop.contact_email,
    )
    assert email.context["order_id"] == proxy.order_id
    assert (email.status, email.attempts, email.dedup_key) == ("sent", 1, None)
    assert email.subject and email.created_at is not None


def test_shop_summaries_are_written_in_the_shops_language(world):
    """A French-speaking shop gets its placement and confirmation summaries in French."""
    world.shop.language = "fr"
    world.shop.save(update_fields=["language"])
    _placed(world)

    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at + timedelta(minutes=1))

    assert Email.objects.get(kind="placement_summary").language == "fr"
    assert Email.objects.get(kind="confirmation_summary").language == "fr"
