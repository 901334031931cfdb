"""Reads on enterprises, and the tenancy checks every interface goes through.

The rule: staff (operators) see everything; a manager sees the enterprises they manage and
what belongs to them; anything else is answered as if it did not exist (`NotFound`), so that
ids of other tenants cannot be probed.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from cadence.enterprises.models import Enterprise
from cadence.errors import NotFound

M = TypeVar("M", bound=Model)


def is_operator(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def enterprises_for_user(user) -> QuerySet[Enterprise]:
    """The enterprises this user may see: all for staff, the managed ones otherwise."""
    if is_operator(user):
        return Enterprise.objects.all()
    if user is None or not user.is_authenticated:
        return Enterprise.objects.none()
    return Enterprise.objects.filter(managers=user)


def user_manages(*, user, enterprise: Enterprise) -> bool:
    """True when the user is one of the enterprise's managers (staff rights not included)."""
    if user is None or not user.is_authenticated:
        return False
    return enterprise.managers.filter(pk=user.pk).exists()


def scoped_to_manager(queryset: QuerySet[M], *, user, shop_field: str = "shop") -> QuerySet[M]:
    """Narrow `queryset` to rows whose enterprise (reached through `shop_field`) the user sees."""
    if is_operator(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    # A subquery rather than a join on managers, so a row is never duplicated.
    managed = Enterprise.objects.filter(managers=user).values("pk")
    return queryset.filter(**{f"{shop_field}__in": managed})


def object_for_manager(
    *, user, queryset: QuerySet[M], pk: int, shop_field: str = "shop", label: str | None = None
) -> M:
    """The row `pk` of `queryset` if the user may see it; raises `NotFound` otherwise."""
    obj = scoped_to_manager(queryset, user=user, shop_field=shop_field).filter(pk=pk).first()
    if obj is None:
        raise NotFound(_("%(what)s not found.") % {"what": label or _("Object")})
    return obj


def enterprise_for_manager(*, user, enterprise_id: int) -> Enterprise:
    """The enterprise if the user manages it (or is staff); raises `NotFound` otherwise."""
    enterprise = enterprises_for_user(user).filter(pk=enterprise_id).first()
    if enterprise is None:
        raise NotFound(_("Enterprise not found."))
    return enterprise


def shops_to_switch_to(*, user, current: Enterprise) -> QuerySet[Enterprise]:
    """The shops a manager moves between in the back office: those they manage, plus the
    current one (staff may be looking at a shop they do not manage)."""
    return (
        Enterprise.objects.filter(is_shop=True)
        .filter(Q(managers=user) | Q(pk=current.pk))
        .distinct()
        .order_by("name", "id")
        .only("id", "name")
    )


def enterprises_for_user_by_name(user) -> QuerySet[Enterprise]:
    """`enterprises_for_user`, by name."""
    return enterprises_for_user(user).order_by("name", "id")


def enterprise_by_id(enterprise_id: int) -> Enterprise | None:
    """Any enterprise by id (enterprises are public: a producer is named by its id)."""
    return Enterprise.objects.filter(pk=enterprise_id).first()


def shop_by_id(shop_id: int) -> Enterprise | None:
    """Any shop by id; None for an unknown id or an enterprise that is not a shop."""
    return Enterprise.objects.filter(pk=shop_id, is_shop=True).first()


def enterprises_managed_by(user) -> QuerySet[Enterprise]:
    """The enterprises the user manages (staff rights not included), by name."""
    return user.managed_enterprises.order_by("name", "id")


def shops_listed_for(user) -> QuerySet[Enterprise]:
    """The shops the user manages; staff who manage none, every shop."""
    managed = Enterprise.objects.filter(managers=user, is_shop=True)
    if user.is_staff and not managed.exists():
        return enterprises_for_user(user).filter(is_shop=True)
    return managed


def enterprise_only(enterprise: Enterprise) -> QuerySet[Enterprise]:
    """A queryset of this one enterprise, for reads scoped to a set of shops."""
    return Enterprise.objects.filter(pk=enterprise.pk)


def shops_listed_for_matching(user, *, q: str = "") -> QuerySet[Enterprise]:
    """`shops_listed_for`, by name, those whose name contains `q` when it is given."""
    shops = shops_listed_for(user).order_by("name", "id")
    if q:
        shops = shops.filter(name__icontains=q)
    return shops
