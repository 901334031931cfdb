"""Who may open a manager page: checked once per request, before the view runs.

The shop comes from the URL and is resolved through the enterprises selectors, the same
tenancy rule as the API: staff see every shop, a manager the shops they manage. Anything else
answers 404, as if the shop did not exist, so ids of other tenants cannot be probed. Anonymous
visitors are sent to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from cadence.enterprises.selectors import enterprise_for_manager
from cadence.errors import NotFound

M = TypeVar("M", bound=Model)


def manager_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view taking `(request, shop, ...)` from a URL with `<int:shop_id>`.

    Sets `request.shop` too, for the layout (breadcrumbs, shop switcher)."""

    @wraps(view)
    def wrapper(request: HttpRequest, shop_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            shop = enterprise_for_manager(user=request.user, enterprise_id=shop_id)
        except NotFound:
            raise Http404 from None
        if not shop.is_shop:
            raise Http404
        request.shop = shop  # type: ignore[attr-defined]  # an attribute of ours
        return view(request, shop, *args, **kwargs)

    return wrapper


def get_for_shop(queryset: QuerySet[M], *, pk: int, shop_field: str = "shop", shop) -> M:
    """The row `pk` of `queryset` if it belongs to `shop`; 404 otherwise (another shop's row
    is answered like a missing one)."""
    obj = queryset.filter(pk=pk, **{shop_field: shop}).first()
    if obj is None:
        raise Http404
    return obj
