"""The shop's summaries list the orders by outcome, in the shop's language, with plain-text
parts that are not HTML-escaped (a buyer is written "Name <email>")."""

from __future__ import annotations

import pytest

from cadence.notifications.models import Email
from cadence.notifications.rendering import render_email
from cadence.payments.gateways import ChargeResult, ChargeStatus
from cadence.subscriptions.services import emails
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.placement import place_cycle, placement_summary_key
from tests.support import factories
from tests.support.gateways import ScriptedGateway, use_gateway
from tests.support.worlds import make_world

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _buyer(world, name: str):
    return factories.customer(world.shop, f"{name.lower()}@example.org", first_name=name)


def _cycle_with_every_outcome(monkeypatch, *, language: str):
    """One cycle whose orders end paid by card, declined, awaiting authentication and to be
    paid by hand, plus a subscription whose placement failed (no billing address)."""
    world = make_world(language=language)
    card = factories.payment_method(world.shop, kind="stripe")
    for name in ("Paula", "Dan", "Ada"):
        world.subscribe(customer=_buyer(world, name), payment_method=card)
    world.subscribe(customer=_buyer(world, "Cash"))
    world.subscribe(customer=_buyer(world, "Nobill"), bill_address={})
    place_cycle(order_cycle=world.cycle)
    gateway = ScriptedGateway(
        ChargeResult(ChargeStatus.SUCCEEDED, reference="pi_1"),
        ChargeResult(ChargeStatus.FAILED, error="Your card was declined <code 51>."),
        ChargeResult(ChargeStatus.REQUIRES_ACTION, reference="pi_3"),
    )
    use_gateway(monkeypatch, gateway)
    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)
    return world


def _number(world, name: str) -> str:
    return world.shop.orders.get(customer__first_name=name).number


def test_confirmation_summary_lists_the_orders_by_outcome_in_english(monkeypatch):
    """Each outcome has a heading with its count and lists its orders (number, buyer), with
    the reason where the payment failed; the text part reads `<` as `<`."""
    world = _cycle_with_every_outcome(monkeypatch, language="en")

    subject, text, html = render_email(Email.objects.get(kind="confirmation_summary"))

    assert "4 orders confirmed." in text
    assert (
        f"Paid by card (1 order):\n- #{_number(world, 'Paula')} Paula <paula@example.org>" in text
    )
    assert (
        f"Failed payment (1 order):\n- #{_number(world, 'Dan')} Dan <dan@example.org>: "
        "Your card was declined <code 51>." in text
    )
    assert (
        f"Awaiting authentication by the buyer (1 order):\n- #{_number(world, 'Ada')} Ada "
        "<ada@example.org>" in text
    )
    assert f"To be paid by hand (1 order):\n- #{_number(world, 'Cash')} Cash" in text
    assert "Failed without an order (1 subscription):\n- Nobill <nobill@example.org>: " in text
    assert "Still to charge" not in text  # only when there is some
    assert "&lt;" not in text and "&gt;" not in text and "&lt;" not in subject
    assert "Paula &lt;paula@example.org&gt;" in html
    assert "declined &lt;code 51&gt;." in html


def test_confirmation_summary_lists_the_orders_by_outcome_in_french(monkeypatch):
    """The same lists in the shop's language, with French punctuation."""
    world = _cycle_with_every_outcome(monkeypatch, language="fr")

    _subject, text, html = render_email(Email.objects.get(kind="confirmation_summary"))

    assert f"Payée par carte (1 commande){NBSP}:\n- #{_number(world, 'Paula')} Paula" in text
    assert f"Paiement échoué (1 commande){NBSP}:\n- #{_number(world, 'Dan')} Dan" in text
    assert f"Dan <dan@example.org>{NBSP}: Your card was declined <code 51>." in text
    assert f"À régler manuellement (1 commande){NBSP}:" in text
    assert f"Échec, sans commande (1 abonnement){NBSP}:" in text
    assert "&lt;" not in text
    assert "Payée par carte" in html


def test_placement_summary_text_is_plain_and_lists_shortages_and_failures_in_both_languages():
    """The placement summary's text part shows `Name <email>` as written (the bug was
    `&lt;` there) in English and French; its HTML part escapes it."""
    for language, heading in (
        ("en", "Insufficient stock (1 order): placed with less than was asked for."),
        ("fr", "Stock insuffisant"),
    ):
        world = make_world(on_hand=(1, 100, 100), language=language)
        short = world.subscribe([(world.variants[0], 3)], customer=_buyer(world, "Short"))
        world.subscribe(customer=_buyer(world, "Nobill"), bill_address={})
        place_cycle(order_cycle=world.cycle)
        email = Email.objects.get(dedup_key=placement_summary_key(world.cycle.pk))

        _subject, text, html = render_email(email)

        short.refresh_from_db()
        assert heading in text
        assert f"- #{short.order.number} Short <short@example.org>" in text
        assert "Nobill <nobill@example.org>" in text
        assert "&lt;" not in text and "&gt;" not in text
        assert "Short &lt;short@example.org&gt;" in html


def test_a_long_list_ends_with_how_many_more(monkeypatch):
    """Beyond SUMMARY_LIST_LIMIT orders an outcome's list says how many more there are; the
    heading counts them all."""
    monkeypatch.setattr(emails, "SUMMARY_LIST_LIMIT", 1)
    world = make_world()
    for name in ("One", "Two", "Three"):
        world.subscribe(customer=_buyer(world, name))
    place_cycle(order_cycle=world.cycle)
    confirm_cycle(order_cycle=world.cycle, now=world.cycle.closes_at)

    _subject, text, _html = render_email(Email.objects.get(kind="confirmation_summary"))

    assert "To be paid by hand (3 orders):\n- #" in text
    assert "One <one@example.org>\n- and 2 more" in text


def test_a_summary_is_due_once_nothing_is_left_and_until_it_is_queued():
    """`summary_due` (one query): not while a proxy order is left to place, then due, then
    not once the summary's row exists."""
    world = make_world()
    world.subscribe()
    key = placement_summary_key(world.cycle.pk)
    left = world.cycle.proxy_orders.filter(order__isnull=True)
    assert not emails.summary_due(left=left, key=key)

    place_cycle(order_cycle=world.cycle)  # queues the summary itself
    assert left.count() == 0 and Email.objects.filter(dedup_key=key).exists()
    assert not emails.summary_due(left=left, key=key)
    Email.objects.filter(dedup_key=key).delete()
    assert emails.summary_due(left=left, key=key)


def test_summary_rows_say_which_orders_got_less_than_asked():
    """Rows read `with_shortage` carry whether the order has a line given less than asked;
    rows read without it never claim a shortage."""
    world = make_world(on_hand=(3, 100, 100))
    short = world.subscribe([(world.variants[0], 2)])  # the older one is served in full
    shorter = world.subscribe([(world.variants[0], 2)])  # gets the 1 unit left
    full = world.subscribe([(world.variants[1], 1)])
    place_cycle(order_cycle=world.cycle)

    proxies = world.cycle.proxy_orders.all()
    flagged = {
        row.order_id: row.short for row in emails.summary_orders(emails.with_shortage(proxies))
    }
    orders = {p.pk: p.order_id for p in proxies}
    assert flagged == {orders[short.pk]: False, orders[shorter.pk]: True, orders[full.pk]: False}
    assert not any(row.short for row in emails.summary_orders(proxies))
