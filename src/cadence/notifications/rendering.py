"""Turn an outbox row into subject, text and HTML, in the recipient's language.

An email whose kind has a context builder (`notifications.registry`, filled by each app's
`ready()`) stores a reference: the builder turns it into the full context at send time. Rows
queued before the registry stored the builder's dotted path under `builder`; that key is
ignored, the kind decides. Dates in the context are ISO strings in UTC; each
`*_at`/`*_until` key gets a `*_display` twin formatted in the shop's time zone
(`context["timezone"]`) and the email's language, by `cadence.formatting` (the pages' helper,
so an email and a page say the same moment the same way). Calendar days (`*_on` keys, ISO
dates already in the shop's zone) get a `*_display` twin formatted as a date. Nested dicts,
and dicts in lists, are formatted the same way.

The subject and the text part are plain text: they are rendered without HTML escaping (a shop
called "Fruits & Co" must not read "Fruits &amp; Co", a buyer "Ann <ann@example.org>" must not
read "&lt;"), includes too; the HTML part is escaped as usual. The text part keeps at most one
blank line in a row, so templates can give each optional section its own line.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import translation

from cadence import formatting
from cadence.notifications.models import Email
from cadence.notifications.registry import context_builder


def _with_display_dates(context: dict, tz_name: str, language: str) -> dict:
    out = dict(context)
    for key, value in context.items():
        if isinstance(value, str) and (key.endswith("_at") or key.endswith("_until")):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            out[f"{key}_display"] = formatting.local_datetime(moment, tz_name, language=language)
        elif isinstance(value, str) and key.endswith("_on"):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue
            out[f"{key}_display"] = formatting.local_date(day, language=language)
        elif isinstance(value, dict):
            out[key] = _with_display_dates(value, tz_name, language)
        elif isinstance(value, list):
            out[key] = [
                _with_display_dates(item, tz_name, language) if isinstance(item, dict) else item
                for item in value
            ]
    return out


def _render_text(template_name: str, context: dict) -> str:
    template = Engine.get_default().get_template(template_name)
    return template.render(Context(context, autoescape=False))


def render_email(email: Email) -> tuple[str, str, str]:
    """(subject, text, html). Rows queued with their text are returned as they are."""
    if email.text and not email.context:
        return email.subject, email.text, email.html
    language = email.language or "en"
    tz_name = email.context.get("timezone") or "UTC"
    with translation.override(language):
        context = email.context
        builder = context_builder(email.kind)
        if builder is not None:
            # A reference queued with the event (e.g. an order id), expanded now by the
            # app that queued it; keeps the outbox row small.
            context = builder(context)
        # An unknown zone name reads as UTC (`formatting` falls back), never as an error.
        context = _with_display_dates(context, context.get("timezone") or tz_name, language)
        context["language"] = language
        base = f"notifications/{email.kind}"
        subject = " ".join(_render_text(f"{base}_subject.txt", context).split())
        text = re.sub(r"\n{3,}", "\n\n", _render_text(f"{base}.txt", context)).strip() + "\n"
        html = render_to_string(f"{base}.html", context)
    return subject, text, html
