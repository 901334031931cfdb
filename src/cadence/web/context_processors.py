"""What every page's layout needs to know about the visitor beyond `user`."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from cadence.enterprises.selectors import enterprises_for_user, is_operator


def uses_back_office(user) -> bool:
    """True for staff and for anyone who manages at least one shop: they get the back office
    (`/manage/`) in the header and land there after signing in."""
    if user is None or not user.is_authenticated:
        return False
    return is_operator(user) or enterprises_for_user(user).filter(is_shop=True).exists()


def back_office(request: HttpRequest) -> dict:
    """`uses_back_office` for the header's "Manage" link. Lazy, and asked once per request:
    pages that do not show the header (htmx fragments) run no query."""
    return {"uses_back_office": SimpleLazyObject(lambda: uses_back_office(request.user))}
