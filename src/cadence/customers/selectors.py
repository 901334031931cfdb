"""Reads on customer lists, scoped to what the user may see.

Soft-deleted customers (removed from the list but kept for past orders and subscriptions)
are left out of every read here."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager


def customers_for_shop(*, shop: Enterprise, q: str | None = None) -> QuerySet[Customer]:
    """The shop's customers, optionally matching `q` in email, name or code."""
    qs = Customer.objects.filter(shop=shop, deleted_at__isnull=True)
    if q:
        qs = qs.filter(
            Q(email__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(code__iexact=q)
        )
    return qs.order_by("email", "id")


def customer_for_manager(*, user, customer_id: int) -> Customer:
    """The customer if the user manages its shop (or is staff); raises NotFound otherwise."""
    return object_for_manager(
        user=user,
        queryset=Customer.objects.filter(deleted_at__isnull=True).select_related("shop"),
        pk=customer_id,
        label=_("Customer"),
    )


def customers_of_buyer(user, *, include_removed: bool = False) -> QuerySet[Customer]:
    """The customer rows that are this buyer: linked to their account or with their email.

    A customer the shop removed no longer counts for anything the buyer does; with
    `include_removed` it still counts for reading their history (past orders and
    subscriptions stay visible to the buyer)."""
    match = Q(user=user)
    if user.email:
        match |= Q(email__iexact=user.email)
    qs = Customer.objects.filter(match)
    return qs if include_removed else qs.filter(deleted_at__isnull=True)


def customers_with_shop_for_shop(*, shop: Enterprise, q: str | None = None) -> QuerySet[Customer]:
    """`customers_for_shop`, each with its shop (for its time zone)."""
    return customers_for_shop(shop=shop, q=q).select_related("shop")


def language_of_user(user) -> str | None:
    """The language a user reads: the one their shops' customer lists have for them, the
    most recently updated first; None when there is none."""
    return (
        Customer.objects.filter(user=user, deleted_at__isnull=True)
        .order_by("-updated_at", "-pk")
        .values_list("language", flat=True)
        .first()
    )


def customer_of_shop(*, shop: Enterprise, customer_id: int) -> Customer | None:
    """One of the shop's customers (not removed); None for any other id."""
    return customers_for_shop(shop=shop).filter(pk=customer_id).first()


def customers_matching(
    *, shop: Enterprise, q: str, leaving_out: Customer | None = None
) -> QuerySet[Customer]:
    """`customers_for_shop` matching `q`, without `leaving_out` (the one already chosen)."""
    qs = customers_for_shop(shop=shop, q=q)
    if leaving_out is not None:
        qs = qs.exclude(pk=leaving_out.pk)
    return qs
