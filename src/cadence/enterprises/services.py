"""Writes on enterprises: creation, settings, managers and supplier permissions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from cadence.enterprises.models import (
    AllocationPolicy,
    Enterprise,
    Language,
    SupplierPermission,
)
from cadence.errors import ErrorCollector, PermissionDenied, ValidationFailed
from cadence.updates import apply_changes, reject_unknown_fields

# Fields a manager may change on their enterprise (`is_shop`/`is_producer` are set at creation).
EDITABLE_FIELDS = (
    "name",
    "contact_email",
    "timezone",
    "currency",
    "enable_subscriptions",
    "allow_order_changes",
    "allow_self_subscribe",
    "send_subscription_emails",
    "allocation_policy",
    "language",
)


def _check_fields(values: dict[str, Any], errors: ErrorCollector) -> dict[str, Any]:
    """Validate and normalise enterprise fields; only the keys present are checked."""
    cleaned = dict(values)
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name:
            errors.add("name", _("can't be blank"))
        cleaned["name"] = name
    if "contact_email" in values:
        email = (values["contact_email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                errors.add("contact_email", _("is not a valid email address"))
        cleaned["contact_email"] = email
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"] or "")
        except (ZoneInfoNotFoundError, ValueError):
            errors.add("timezone", _("is not a known time zone (e.g. Europe/Paris)"))
    if "currency" in values:
        currency = (values["currency"] or "").strip().upper()
        if not (len(currency) == 3 and currency.isalpha()):
            errors.add("currency", _("must be a three-letter ISO 4217 code"))
        cleaned["currency"] = currency
    if "allocation_policy" in values and values["allocation_policy"] not in AllocationPolicy.values:
        errors.add(
            "allocation_policy",
            _("must be one of: %(choices)s") % {"choices": ", ".join(AllocationPolicy.values)},
        )
    if "language" in values and values["language"] not in Language.values:
        errors.add(
            "language",
            _("must be one of: %(choices)s") % {"choices": ", ".join(Language.values)},
        )
    return cleaned


@transaction.atomic
def enterprise_create(
    *,
    name: str,
    is_shop: bool = True,
    is_producer: bool = False,
    contact_email: str = "",
    timezone: str = "Europe/Paris",
    currency: str = "EUR",
    managers: Iterable[User] = (),
) -> Enterprise:
    """Create a shop and/or producer. Raises ValidationFailed (name, timezone, currency…)."""
    errors = ErrorCollector()
    values = _check_fields(
        {"name": name, "contact_email": contact_email, "timezone": timezone, "currency": currency},
        errors,
    )
    if not is_shop and not is_producer:
        errors.add("__all__", _("an enterprise must be a shop, a producer or both"))
    errors.raise_if_any()
    enterprise = Enterprise.objects.create(is_shop=is_shop, is_producer=is_producer, **values)
    if managers:
        enterprise.managers.add(*managers)
    return enterprise


@transaction.atomic
def enterprise_update(*, enterprise: Enterprise, changes: dict[str, Any]) -> Enterprise:
    """Apply `changes` (a subset of EDITABLE_FIELDS). Raises ValidationFailed."""
    errors = ErrorCollector()
    reject_unknown_fields(changes, EDITABLE_FIELDS, errors)
    values = _check_fields(changes, errors)
    errors.raise_if_any()
    return apply_changes(enterprise, values, also_save=["updated_at"])


@transaction.atomic
def enterprise_manager_add(*, enterprise: Enterprise, email: str) -> tuple[Any, bool]:
    """Make the user with this email a manager, creating the account (without a usable
    password) when there is none. Returns (user, created). Raises ValidationFailed (email)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed({"email": [_("is not a valid email address")]}) from None
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    created = False
    if user is None:
        user = User.objects.create_user(username=email.lower(), email=email.lower())
        created = True
    enterprise.managers.add(user)
    return user, created


@transaction.atomic
def enterprise_supplier_add(
    *, shop: Enterprise, producer: Enterprise, actor: User | None = None
) -> SupplierPermission:
    """Let `shop` sell `producer`'s variants (idempotent).

    The producer must agree: `actor` must be staff or a manager of the producer (the caller
    has already checked they manage the shop). Raises PermissionDenied, ValidationFailed."""
    if (
        actor is not None
        and not actor.is_staff
        and not producer.managers.filter(pk=actor.pk).exists()
    ):
        raise PermissionDenied(
            _("Only a manager of the producer can let a shop sell its products.")
        )
    if not producer.is_producer:
        raise ValidationFailed({"producer_id": [_("is not a producer")]})
    if not shop.is_shop:
        raise ValidationFailed({"__all__": [_("%(name)s is not a shop") % {"name": shop.name}]})
    permission, _created = SupplierPermission.objects.get_or_create(shop=shop, producer=producer)
    return permission
