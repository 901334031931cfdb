"""Writes on customer lists: add, change and remove a shop's customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cadence.customers.domain import clean_address
from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict, ErrorCollector
from cadence.updates import apply_changes, reject_unknown_fields

EDITABLE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "code",
    "tags",
    "language",
    "bill_address",
    "ship_address",
)
TEXT_LIMITS = {"first_name": 100, "last_name": 100, "phone": 50, "code": 50, "tags": 200}
LANGUAGES = ("en", "fr")


def _clean(
    values: dict[str, Any], *, shop: Enterprise, errors: ErrorCollector, exclude_pk: int | None
) -> dict[str, Any]:
    """Validate and normalise the customer fields present in `values`."""
    cleaned: dict[str, Any] = {}
    reject_unknown_fields(values, EDITABLE_FIELDS, errors)
    if "email" in values:
        email = (values["email"] or "").strip()
        try:
            validate_email(email)
        except DjangoValidationError:
            errors.add("email", _("is not a valid email address"))
        else:
            taken = Customer.objects.filter(shop=shop, email__iexact=email, deleted_at__isnull=True)
            if exclude_pk is not None:
                taken = taken.exclude(pk=exclude_pk)
            if taken.exists():
                errors.add("email", _("is already on this shop's customer list"))
        cleaned["email"] = email
    for field, limit in TEXT_LIMITS.items():
        if field in values:
            text = (values[field] or "").strip()
            if len(text) > limit:
                errors.add(field, _("is too long (at most %(n)d characters)") % {"n": limit})
            cleaned[field] = text
    if "language" in values:
        if values["language"] not in LANGUAGES:
            errors.add(
                "language", _("must be one of: %(choices)s") % {"choices": ", ".join(LANGUAGES)}
            )
        cleaned["language"] = values["language"]
    for field in ("bill_address", "ship_address"):
        if field in values:
            address, problems = clean_address(values[field], required=False)
            for problem in problems:
                errors.add(field, problem)
            cleaned[field] = address
    return cleaned


def _user_with_email(email: str) -> User | None:
    return get_user_model().objects.filter(email__iexact=email).order_by("pk").first()


@transaction.atomic
def customer_create(
    *,
    shop: Enterprise,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    code: str = "",
    tags: str = "",
    language: str = "en",
    bill_address: dict[str, Any] | None = None,
    ship_address: dict[str, Any] | None = None,
) -> Customer:
    """Add a buyer to the shop's customer list. Raises ValidationFailed (email taken…).

    The customer is linked to the user account with the same email when there is one: that
    is what lets the buyer see the shop's orders and allow it to charge their card."""
    errors = ErrorCollector()
    values = _clean(
        {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "code": code,
            "tags": tags,
            "language": language,
            "bill_address": bill_address,
            "ship_address": ship_address,
        },
        shop=shop,
        errors=errors,
        exclude_pk=None,
    )
    errors.raise_if_any()
    return Customer.objects.create(shop=shop, user=_user_with_email(values["email"]), **values)


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict[str, Any]) -> Customer:
    """Change some of the customer's fields. Raises ValidationFailed."""
    errors = ErrorCollector()
    values = _clean(changes, shop=customer.shop, errors=errors, exclude_pk=customer.pk)
    errors.raise_if_any()
    if "email" in values and values["email"].lower() != customer.email.lower():
        values["user"] = _user_with_email(values["email"])
    return apply_changes(customer, values, also_save=["updated_at"])


@transaction.atomic
def customer_delete(*, customer: Customer, now: datetime | None = None) -> None:
    """Remove a customer from the shop's list.

    Refused (Conflict) while the customer has a subscription that still counts: one that is
    active, paused or pending (not begun yet). Canceled subscriptions and ended ones (past
    their end date, not paused) no longer block, since nothing more will be ordered for them.

    A customer nothing refers to is deleted for good. One that orders or canceled or ended
    subscriptions still refer to is soft-deleted (`deleted_at` set): those rows keep pointing
    at it, but it leaves the customer list, can no longer be subscribed or fetched, and its
    email is free to be added again as a new customer."""
    now = now or timezone.now()
    # Locking the row serialises this with subscription creation and edits, which lock the
    # customer too: a subscription cannot appear between the check below and the delete.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.deleted_at is not None:
        return
    blocking = customer.subscriptions.filter(canceled_at__isnull=True).filter(
        # Mirrors the subscription status rules: paused wins over ended, not begun is pending.
        Q(paused_at__isnull=False)
        | Q(begins_at__gt=now)
        | Q(ends_at__isnull=True)
        | Q(ends_at__gte=now)
    )
    count = blocking.count()
    if count:
        raise Conflict(
            ngettext(
                "This customer has %(count)d subscription that is not canceled: cancel it first.",
                "This customer has %(count)d subscriptions that are not canceled: "
                "cancel them first.",
                count,
            )
            % {"count": count}
        )
    if not customer.subscriptions.exists() and not customer.orders.exists():
        try:
            customer.delete()
            return
        except ProtectedError:
            # Some other row refers to the customer after all: keep it, as for history.
            pass
    customer.deleted_at = now
    customer.save(update_fields=["deleted_at", "updated_at"])
