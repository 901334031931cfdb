"""How the emails read: money, moments and labels in the email's language, with the same
helper as the pages (`cadence.formatting`), and plain text that is not HTML-escaped."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from cadence.notifications.models import Email
from cadence.notifications.rendering import render_email
from cadence.subscriptions.services.confirmation import confirm_cycle
from cadence.subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_pause,
    subscription_unpause,
    subscription_update,
)
from cadence.subscriptions.services.placement import place_cycle
from tests.support import factories
from tests.support.subscriptions import subscribe, world

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
FRENCH_MONTHS = "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.".split()


def placement_email(*, language: str) -> tuple[Email, object]:
    """The placement email of a buyer with an account (so it gives the change deadline):
    2 apples at 4.00 and a pear at 6.00, delivered by "Pick-up & delivery", paid in cash."""
    w = world()
    w.shop.allow_order_changes = True
    w.shop.save()
    w.shipping.name = "Pick-up & delivery"
    w.shipping.save()
    w.customer.language = language
    w.customer.user = factories.user("ann@example.org")
    w.customer.save()
    subscribe(
        w,
        line_items=[
            {"variant_id": w.apples.pk, "quantity": 2},
            {"variant_id": w.pears.pk, "quantity": 1},
        ],
    )
    place_cycle(order_cycle=w.open, now=w.now)
    return Email.objects.get(kind="placement", to="ann@example.org"), w


def test_placement_email_in_english():
    """English: `Delivery:` with no space before the colon, `€12.50`-style amounts, the
    change deadline as `4 Dec 2026, 18:00` on the shop's clock."""
    email, w = placement_email(language="en")

    _subject, text, html = render_email(email)

    assert "Delivery: Pick-up & delivery" in text
    assert "Payment: " in text
    assert "- Apples - 1 kg: 2 x €4.00 = €8.00" in text
    assert "Items: €14.00" in text
    # Items 14.00 + delivery 2.00 + cash fee 0.50.
    assert "Total: €16.50" in text and "€16.50" in html
    closes = w.open.closes_at.astimezone(ZoneInfo(w.shop.timezone))
    assert f"{closes.day} {closes:%b %Y, %H:%M}" in text
    assert f"{closes:%m/%d/%Y}" not in text


def test_placement_email_in_french():
    """French: `Livraison :` with a no-break space before the colon, `16,50 €` amounts, the
    change deadline as `4 déc. 2026 18:00` on the shop's clock."""
    email, w = placement_email(language="fr")

    _subject, text, html = render_email(email)

    assert f"Livraison{NBSP}: Pick-up & delivery" in text
    assert f"Paiement{NBSP}: " in text
    assert f"- Apples - 1 kg{NBSP}: 2 x 4,00{NBSP}€ = 8,00{NBSP}€" in text
    assert f"Articles{NBSP}: 14,00{NBSP}€" in text
    assert f"Total{NBSP}: 16,50{NBSP}€" in text and f"16,50{NBSP}€" in html
    assert "Livraison" in html
    closes = w.open.closes_at.astimezone(ZoneInfo(w.shop.timezone))
    french_day = f"{closes.day} {FRENCH_MONTHS[closes.month - 1]} {closes.year} {closes:%H:%M}"
    assert french_day in text and french_day in html
    assert " :" not in text  # never an ordinary (breakable) space before a colon
    assert "€" in text and "EUR" not in text


def test_text_parts_are_not_html_escaped_but_the_html_part_is():
    """A name with `&` reads as such in the subject and the text part; the HTML part escapes
    it."""
    email, w = placement_email(language="en")
    w.shop.name = "Fruits & Co"
    w.shop.save()
    email.refresh_from_db()

    subject, text, html = render_email(email)

    assert "&amp;" not in subject and "&amp;" not in text
    assert "Pick-up & delivery" in text
    assert "Pick-up &amp; delivery" in html


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_email_has_html_escaping_in_its_subject_or_text_part(language):
    """Every kind of email, to the buyer and to the shop, with names full of `&`, `<`, `>` and
    quotes: the subject and the text part show them as written (no `&amp;`, `&lt;`, `&#x27;`),
    the HTML part escapes them."""
    w = world()
    w.shop.name = 'Fruits & "Co" <Bio>'
    w.shop.language = language
    w.shop.save()
    w.customer.language = language
    w.customer.first_name = "O'Neil <Ann>"
    w.customer.save()
    w.shipping.name = "Pick-up & <delivery>"
    w.shipping.save()
    sub = subscribe(w, bill_address=factories.address(first_name="O'Neil <Ann>"))
    subscription_update(
        subscription=sub,
        changes={"line_items": [{"variant_id": w.apples.pk, "quantity": 3}]},
        now=w.now,
    )
    subscription_pause(subscription=sub, open_orders=None, now=w.now)
    subscription_unpause(subscription=sub, now=w.now)
    place_cycle(order_cycle=w.open, now=w.now)
    confirm_cycle(order_cycle=w.open, now=w.open.closes_at)
    subscription_cancel(subscription=sub, open_orders=None, now=w.open.closes_at)
    # The card outcomes' emails are the confirmation's context with the gateway's words.
    confirmed = Email.objects.get(kind="confirmation")
    for kind in ("failed_payment", "authentication"):
        Email.objects.create(
            to=confirmed.to,
            kind=kind,
            language=language,
            context={**confirmed.context, "error": "Declined <51> & 'blocked'", "auth_url": "x"},
        )
    empty = factories.customer(w.shop, "empty@example.org", first_name="Émile & <Co>")
    w.pears.on_hand = 0
    w.pears.save()
    subscribe(w, customer_id=empty.pk, line_items=[{"variant_id": w.pears.pk, "quantity": 1}])
    place_cycle(order_cycle=w.upcoming, now=w.upcoming.opens_at)

    kinds = set()
    for email in Email.objects.all():
        subject, text, html = render_email(email)
        kinds.add(email.kind)
        for entity in ("&amp;", "&lt;", "&gt;", "&#x27;", "&quot;", "&#39;"):
            assert entity not in subject and entity not in text, (email.kind, entity, text)
        assert "&amp;" in html or "&lt;" in html, email.kind
    assert kinds >= {
        "subscription_started",
        "subscription_changed",
        "subscription_paused",
        "subscription_resumed",
        "subscription_canceled",
        "placement",
        "empty",
        "confirmation",
        "failed_payment",
        "authentication",
        "placement_summary",
        "confirmation_summary",
    }, kinds
