"""The buyer's subscription emails: started, changed, paused, resumed and canceled, queued in
the outbox with the event, rendered in the buyer's language, and off when the shop says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from cadence.notifications.models import Email
from cadence.notifications.rendering import render_email
from cadence.subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_pause,
    subscription_unpause,
    subscription_update,
)
from tests.support import factories
from tests.support.subscriptions import place, subscribe, world

pytestmark = pytest.mark.django_db

KINDS = (
    "subscription_started",
    "subscription_changed",
    "subscription_paused",
    "subscription_resumed",
    "subscription_canceled",
)


def subscription_emails() -> list[Email]:
    return list(Email.objects.filter(kind__in=KINDS).order_by("pk"))


def only_email(kind: str) -> Email:
    emails = subscription_emails()
    assert [e.kind for e in emails] == [kind], [e.kind for e in emails]
    return emails[0]


def test_create_queues_one_started_email_with_the_subscription():
    """Creating a subscription queues one "started" email to the customer, from the shop,
    replying to the shop, listing schedule, items, quantities, estimated prices and dates."""
    w = world()
    subscribe(w, ends_at=w.now + timedelta(days=60))

    email = only_email("subscription_started")
    assert (email.to, email.language, email.from_name, email.reply_to) == (
        "ann@example.org",
        "en",
        "Green Grocer",
        "shop@example.org",
    )
    subject, text, html = render_email(email)
    assert "Green Grocer" in subject
    assert "Hello Camille" in text  # the billing first name
    assert "Weekly" in text and "Weekly" in html
    assert "Apples - 1 kg: 2 x €4.00 = €8.00" in text
    # Items 8.00 + delivery 2.00 + cash fee 0.50.
    assert "Estimated total per delivery: €10.50" in text and "€10.50" in html
    assert "Delivery: " in text and "Delivery: " in html
    # The shop is in Europe/Paris: begins 2026-02-08 13:00 Paris, ends 2026-05-09; day before
    # month, as on the pages.
    assert "Begins on 8 Feb 2026" in text and "Ends on 9 May 2026" in text
    assert "To change this subscription, contact Green Grocer at shop@example.org." in text


def test_buyer_with_an_account_gets_a_link_to_their_subscriptions(settings):
    """A customer with a user account is sent to BASE_URL/account/subscriptions/ instead of
    being told to contact the shop."""
    settings.BASE_URL = "https://shop.example"
    w = world()
    w.customer.user = factories.user("ann@example.org")
    w.customer.save()
    subscribe(w)

    _subject, text, html = render_email(only_email("subscription_started"))
    assert "https://shop.example/account/subscriptions/" in text
    assert 'href="https://shop.example/account/subscriptions/"' in html
    assert "To change this subscription, contact" not in text


def test_a_real_update_queues_one_changed_email_and_a_no_op_update_none():
    """An edit that changes something queues one "changed" email showing the new quantities
    and what changed; an edit that changes nothing queues no email."""
    w = world()
    sub = subscribe(w)
    Email.objects.all().delete()

    subscription_update(
        subscription=sub,
        changes={"line_items": [{"variant_id": w.apples.pk, "quantity": 2}]},
        now=w.now,
    )
    assert subscription_emails() == []

    subscription_update(
        subscription=sub,
        changes={
            "line_items": [
                {"variant_id": w.apples.pk, "quantity": 3},
                {"variant_id": w.pears.pk, "quantity": 1},
            ]
        },
        now=w.now,
    )
    email = only_email("subscription_changed")
    assert email.to == "ann@example.org"
    assert email.context["changes"] == ["line_items"]
    _subject, text, _html = render_email(email)
    assert "3 x €4.00 = €12.00" in text and "1 x €6.00 = €6.00" in text
    assert "products and quantities" in text


def test_pause_queues_one_paused_email_with_the_resume_date_and_kept_orders():
    """Pausing with a resume date and keeping a placed order queues one "paused" email that
    gives the resume date and says the placed order is kept."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    Email.objects.all().delete()

    subscription_pause(subscription=sub, open_orders="keep", resume_on=date(2026, 4, 1), now=w.now)

    email = only_email("subscription_paused")
    assert email.context["resume_on"] == "2026-04-01"
    assert [o["number"] for o in email.context["kept_orders"]] == [order.number]
    _subject, text, html = render_email(email)
    assert "until it resumes on 1 Apr 2026" in text
    assert f"Order #{order.number}" in text and "kept" in text
    assert f"Order #{order.number}" in html


def test_unpause_queues_one_resumed_email():
    """Unpausing queues one "resumed" email naming the next order cycle."""
    w = world()
    sub = subscribe(w)
    subscription_pause(subscription=sub, open_orders="keep", now=w.now)
    Email.objects.all().delete()

    subscription_unpause(subscription=sub, now=w.now)

    email = only_email("subscription_resumed")
    _subject, text, _html = render_email(email)
    assert "no longer paused" in text
    assert w.open.name in text


def test_cancel_queues_one_canceled_email_saying_what_happened_to_placed_orders():
    """Canceling and canceling the placed orders queues one "canceled" email that lists the
    canceled order; canceling with nothing placed says nothing about orders."""
    w = world()
    sub = subscribe(w)
    order = place(sub.proxy_orders.get(order_cycle=w.open), now=w.now)
    Email.objects.all().delete()

    subscription_cancel(subscription=sub, open_orders="cancel", now=w.now)

    email = only_email("subscription_canceled")
    assert email.context["kept_orders"] == []
    assert [o["number"] for o in email.context["canceled_orders"]] == [order.number]
    _subject, text, _html = render_email(email)
    assert "has been canceled" in text
    assert "Orders already placed have been canceled" in text and order.number in text


def test_french_customer_gets_the_emails_in_french():
    """A French-speaking customer's email is queued and rendered in French: French dates and
    amounts, the same names and quantities."""
    w = world()
    w.customer.language = "fr"
    w.customer.save()
    subscribe(w)

    email = only_email("subscription_started")
    assert email.language == "fr"
    subject, text, html = render_email(email)
    assert "Green Grocer" in subject
    assert "Apples" in text and "Weekly" in text
    assert "Apples - 1 kg\u00a0: 2 x 4,00\u00a0€ = 8,00\u00a0€" in text and "10,50\u00a0€" in html
    assert "Livraison\u00a0: " in text and "Livraison\u00a0: " in html
    assert "Début le 8 févr. 2026" in text  # begins 8 February 2026, in Paris
    assert 'lang="fr"' in html


def test_no_email_when_the_shop_turned_them_off():
    """With send_subscription_emails off, no lifecycle event queues a subscription email."""
    w = world(send_subscription_emails=False)
    sub = subscribe(w)
    subscription_update(
        subscription=sub,
        changes={"line_items": [{"variant_id": w.apples.pk, "quantity": 5}]},
        now=w.now,
    )
    subscription_pause(subscription=sub, open_orders="keep", now=w.now)
    subscription_unpause(subscription=sub, now=w.now)
    subscription_cancel(subscription=sub, open_orders="keep", now=w.now)
    assert subscription_emails() == []


def test_a_rolled_back_event_leaves_no_email():
    """The email is written in the event's transaction: when it rolls back, so does the
    email row."""
    w = world()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        subscribe(w)
        assert len(subscription_emails()) == 1
        raise Abort

    assert subscription_emails() == []


def test_the_email_is_enqueued_for_sending_only_after_commit(django_capture_on_commit_callbacks):
    """Sending is scheduled on commit: the row is queued, and the send task runs after."""
    w = world()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subscribe(w)
    email = only_email("subscription_started")
    assert email.status == "queued"
    assert callbacks, "the send is scheduled for after commit"


def test_placement_summary_counts_orders_found_already_placed():
    """The shop's placement summary says how many of the placed orders a run found already
    placed and says nothing of it when there were none; it renders under French too."""
    for language, count, expected in (("en", 2, "2 of them were found"), ("en", 0, None)):
        email = Email(
            to="shop@example.org",
            kind="placement_summary",
            language=language,
            context={
                "timezone": "Europe/Paris",
                "shop": {"name": "Green Grocer", "contact_email": "shop@example.org"},
                "cycle": {"name": "Week 12", "opens_at": "2026-03-10T08:00:00+00:00"},
                "placed": 5,
                "already_placed": count,
                "shortages": [],
                "empty": [],
                "failed": [],
            },
        )
        _subject, text, html = render_email(email)
        if expected:
            assert expected in text and expected in html
        else:
            assert "already placed" not in text
    email.language = "fr"
    email.context["already_placed"] = 1
    _subject, text, _html = render_email(email)
    assert "Green Grocer" in text and "5" in text


# --- "started": the subscription's own next cycle, and a start in the future ---------------


def test_started_email_names_the_first_cycle_in_the_subscriptions_range():
    """A subscription that begins after the open cycle closes is told about the upcoming cycle
    (its first in range), not the open one the schedule has next; the email says it has
    started (it began before now)."""
    w = world()
    subscribe(w, begins_at=w.now - timedelta(days=30), ends_at=w.open.closes_at)
    subject, text, html = render_email(only_email("subscription_started"))
    assert f"Next order cycle: {w.open.name} (opens" in text
    assert "has started" in subject
    Email.objects.all().delete()

    w2 = world()
    subscribe(w2, begins_at=w2.open.closes_at + timedelta(hours=1))
    _subject, text, html = render_email(only_email("subscription_started"))
    assert f"Next order cycle: {w2.upcoming.name} (opens" in text
    assert w2.open.name not in text and w2.upcoming.name in html


def test_started_email_names_no_cycle_when_none_is_in_range():
    """Beginning after every cycle of the schedule: no cycle is named, the buyer is told one
    will come."""
    w = world()
    subscribe(w, begins_at=w.upcoming.closes_at + timedelta(days=1))

    _subject, text, _html = render_email(only_email("subscription_started"))

    assert "Next order cycle" not in text
    assert "No order cycle of this schedule is planned yet" in text


def test_started_email_for_a_future_start_says_when_in_english_and_french():
    """A subscription that begins later does not "have started": subject and body say the day
    it starts, on the shop's clock (23:30 UTC on 14 March is 15 March in Paris)."""
    for language, says in (
        ("en", ("starts on 15 Mar 2026", "will start on 15 Mar 2026", "has started")),
        ("fr", ("commence le 15 mars 2026", "commencera le 15 mars 2026", "a commencé")),
    ):
        w = world()
        w.customer.language = language
        w.customer.save()
        subscribe(w, begins_at=datetime(2026, 3, 14, 23, 30, tzinfo=UTC))

        subject, text, html = render_email(only_email("subscription_started"))

        in_subject, in_body, never = says
        assert in_subject in subject and never not in subject
        assert in_body in text and in_body in html
        assert w.upcoming.name in text  # the first cycle closing after the start
        Email.objects.all().delete()
