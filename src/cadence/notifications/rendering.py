"""Turn an outbox row into subject, text and HTML, in the recipient's language.

A context with a `builder` (dotted path) is a reference: the builder turns it into the
full context at send time. Dates in the context are ISO strings in UTC; each
`*_at`/`*_until` key gets a `*_display` twin formatted in the shop's time zone
(`context["timezone"]`) and the email's language. Calendar days (`*_on` keys, ISO dates
already in the shop's zone) get a `*_display` twin formatted as a date. Nested dicts, and
dicts in lists, are formatted the same way.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.module_loading import import_string

from cadence.notifications.models import Email


def _with_display_dates(context: dict, tz: zoneinfo.ZoneInfo) -> dict:
    out = dict(context)
    for key, value in context.items():
        if isinstance(value, str) and (key.endswith("_at") or key.endswith("_until")):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            out[f"{key}_display"] = formats.date_format(moment.astimezone(tz), "DATETIME_FORMAT")
        elif isinstance(value, str) and key.endswith("_on"):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue
            out[f"{key}_display"] = formats.date_format(day, "DATE_FORMAT")
        elif isinstance(value, dict):
            out[key] = _with_display_dates(value, tz)
        elif isinstance(value, list):
            out[key] = [
                _with_display_dates(item, tz) if isinstance(item, dict) else item for item in value
            ]
    return out


def render_email(email: Email) -> tuple[str, str, str]:
    """(subject, text, html). Rows queued with their text are returned as they are."""
    if email.text and not email.context:
        return email.subject, email.text, email.html
    try:
        tz = zoneinfo.ZoneInfo(email.context.get("timezone") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    with translation.override(email.language or "en"):
        context = email.context
        if context.get("builder"):
            # A reference queued with the event (e.g. an order id), expanded now by the
            # function that queued it; keeps the outbox row small.
            context = import_string(context["builder"])(context)
        context = _with_display_dates(context, tz)
        context["language"] = email.language or "en"
        base = f"notifications/{email.kind}"
        subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
        text = render_to_string(f"{base}.txt", context).strip() + "\n"
        html = render_to_string(f"{base}.html", context)
    return subject, text, html
