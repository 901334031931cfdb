"""The shared shape of a partial update ("PATCH"): refuse fields that may not change, then
write only the fields that did.

Each app keeps its own validation; these two helpers are the parts every `<entity>_update`
service repeats, so that an unknown field gets the same message everywhere and no update
writes a column it was not asked to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db.models import Model
from django.utils.translation import gettext as _

from cadence.errors import ErrorCollector

M = TypeVar("M", bound=Model)


def reject_unknown_fields(
    changes: Mapping[str, Any], allowed: Iterable[str], errors: ErrorCollector
) -> None:
    """Add a "cannot be changed" error, keyed by the field, for each key of `changes` that is
    not in `allowed` (sorted, so the error order is stable)."""
    for field in sorted(set(changes) - set(allowed)):
        errors.add(field, _("cannot be changed"))


def apply_changes(instance: M, values: Mapping[str, Any], *, also_save: Iterable[str] = ()) -> M:
    """Set `values` on `instance` and save only those columns (plus `also_save`, e.g. an
    auto-updated `updated_at`). Nothing is written when `values` is empty.

    The caller has validated `values` and holds the transaction."""
    if not values:
        return instance
    for field, value in values.items():
        setattr(instance, field, value)
    instance.save(update_fields=[*values, *also_save])
    return instance
