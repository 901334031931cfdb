"""Emails are rendered through the builder registered for their kind, never through code
named in the row: rows queued before the registry (with a `builder` path in their context)
render the same, and a kind without a builder renders its context as stored."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured

from cadence.notifications import registry
from cadence.notifications.models import Email
from cadence.notifications.rendering import render_email
from cadence.subscriptions.services.emails import ORDER_EMAIL_KINDS, order_email_context_from_db
from cadence.subscriptions.services.placement import place_cycle
from tests.support.subscriptions import subscribe, world

pytestmark = pytest.mark.django_db

KIND = "registry_note"
OLD_PATH = "cadence.subscriptions.services.placement.order_email_context_from_db"


@pytest.fixture
def note_templates(settings, tmp_path):
    """Templates for a kind only these tests use: `{{ greeting }}` in every part."""
    folder = tmp_path / "notifications"
    folder.mkdir()
    (folder / f"{KIND}_subject.txt").write_text("Note: {{ greeting }}")
    (folder / f"{KIND}.txt").write_text("{{ greeting }}, {{ name }}.")
    (folder / f"{KIND}.html").write_text("<p>{{ greeting }}, {{ name }}.</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]


@pytest.fixture
def clean_registry(monkeypatch):
    """Builders registered by a test are gone after it."""
    monkeypatch.setattr(registry, "_BUILDERS", dict(registry._BUILDERS))


def _note(context: dict) -> Email:
    return Email.objects.create(to="ann@example.org", kind=KIND, context=context)


def test_a_builder_registered_for_a_kind_expands_the_stored_context(note_templates, clean_registry):
    """The row stores a reference (a name); the kind's builder turns it into what the
    templates show, at render time."""
    registry.register_context_builder(KIND, lambda stored: {**stored, "greeting": "Hello"})

    subject, text, html = render_email(_note({"name": "Ann"}))

    assert (subject, text, html) == ("Note: Hello", "Hello, Ann.\n", "<p>Hello, Ann.</p>")


def test_a_kind_without_a_builder_renders_its_context_as_stored(note_templates, clean_registry):
    """No builder for the kind: the context is rendered as it is, a `builder` path in it
    included (it names no code that runs)."""
    assert registry.context_builder(KIND) is None

    subject, text, _html = render_email(
        _note({"greeting": "Hi", "name": "Bob", "builder": "cadence.gone.build"})
    )

    assert (subject, text) == ("Note: Hi", "Hi, Bob.\n")


def test_every_order_email_kind_is_rendered_from_the_order():
    """The subscriptions app registers the order builder for every kind it queues with an
    order reference, when the project starts."""
    assert set(ORDER_EMAIL_KINDS) == {
        "placement",
        "confirmation",
        "failed_payment",
        "authentication",
    }
    for kind in ORDER_EMAIL_KINDS:
        assert registry.context_builder(kind) is order_email_context_from_db, kind


def test_a_row_queued_with_a_builder_path_renders_the_same_through_the_registry():
    """A placement email queued before the registry (its context names the builder's dotted
    path) renders byte for byte as one queued now; a path that no longer exists changes
    nothing, as the kind decides."""
    w = world()
    subscribe(w)
    place_cycle(order_cycle=w.open, now=w.now)
    email = Email.objects.get(kind="placement")
    assert "builder" not in email.context
    expected = render_email(email)

    email.context = {**email.context, "builder": OLD_PATH}
    email.save(update_fields=["context"])
    assert render_email(Email.objects.get(pk=email.pk)) == expected

    email.context = {**email.context, "builder": "cadence.moved.elsewhere.build"}
    email.save(update_fields=["context"])
    assert render_email(Email.objects.get(pk=email.pk)) == expected


def test_a_second_builder_for_a_kind_is_refused(clean_registry):
    """Two apps claiming one kind is a configuration error; registering the same builder
    again (an app readied twice) is not."""

    def build(stored: dict) -> dict:
        return stored

    registry.register_context_builder(KIND, build)
    registry.register_context_builder(KIND, build)
    with pytest.raises(ImproperlyConfigured, match=KIND):
        registry.register_context_builder(KIND, lambda stored: stored)
    assert registry.context_builder(KIND) is build


def test_the_migration_drops_builder_paths_from_rows_still_to_send():
    """Queued and failed rows lose their `builder` key, sent rows keep theirs; running the
    migration again changes nothing."""
    migration = importlib.import_module(
        "cadence.notifications.migrations.0004_email_context_without_builder"
    )
    queued = Email.objects.create(
        to="a@example.org", kind="placement", context={"builder": OLD_PATH, "order_id": 1}
    )
    failed = Email.objects.create(
        to="b@example.org", kind="confirmation", status="failed", context={"builder": OLD_PATH}
    )
    sent = Email.objects.create(
        to="c@example.org", kind="placement", status="sent", context={"builder": OLD_PATH}
    )

    for _run in range(2):
        migration.drop_builder_paths(django_apps, None)

    queued.refresh_from_db()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert queued.context == {"order_id": 1}
    assert failed.context == {}
    assert sent.context == {"builder": OLD_PATH}
