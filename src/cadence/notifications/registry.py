"""Who expands an email's stored context, by email kind.

An outbox row may store a small reference (an order id) rather than everything its email
shows; the app that queues that kind of email registers, in its `AppConfig.ready()`, the
function that turns the stored context into the full one when the email is rendered. The
row names its kind only, never code to run, so code can move without breaking rows already
queued. A kind with no builder is rendered with its context as stored.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

# (stored context) -> full context, called at send time in the email's language.
ContextBuilder = Callable[[dict], dict]

_BUILDERS: dict[str, ContextBuilder] = {}


def register_context_builder(kind: str, builder: ContextBuilder) -> None:
    """Render emails of `kind` with `builder(context)`. Registering the same builder again is
    harmless (apps may be readied twice in tests); a second, different builder for a kind is
    a configuration error, not a silent override."""
    registered = _BUILDERS.get(kind)
    if registered is not None and registered is not builder:
        raise ImproperlyConfigured(
            f"email kind {kind!r} already has a context builder: {registered.__qualname__}"
        )
    _BUILDERS[kind] = builder


def context_builder(kind: str) -> ContextBuilder | None:
    """The builder registered for `kind`, or None (the context is rendered as stored)."""
    return _BUILDERS.get(kind)
