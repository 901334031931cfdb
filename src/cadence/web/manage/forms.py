"""What every manager form shares: the services' messages shown on the fields they name.

Forms parse input (types, required fields); the rules live in the services, which raise
`ValidationFailed` keyed by field name, with the same messages the API answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from cadence.errors import ValidationFailed


def add_service_errors(
    form: forms.Form, error: ValidationFailed, *, fields: Mapping[str, str] | None = None
) -> None:
    """Put each message of `error` on its form field. `fields` maps a service's key to the
    form's field name where they differ; a key naming no field goes to the form's top."""
    for key, messages_ in error.errors.items():
        name = (fields or {}).get(key, key)
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, message)
