"""The frame every manager page shares: title, breadcrumbs, the area's tab, the shop switcher.

Views call `render_page`, so the layout's context is built in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import shops_to_switch_to

Crumb = tuple[str | Promise, str | None]


def render_page(
    request: HttpRequest,
    template: str,
    *,
    shop: Enterprise,
    title: str | Promise,
    area: str,
    crumbs: Sequence[Crumb] = (),
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    """Render a manager page. `crumbs` are the (label, url) steps between the shop's overview
    and this page; the page's own title ends the trail."""
    trail: list[Crumb] = [
        (_("Your shops"), reverse("manage-home")),
        (shop.name, reverse("manage-shop", args=[shop.pk])),
        *crumbs,
    ]
    return render(
        request,
        template,
        {
            "shop": shop,
            "title": title,
            "area": area,
            "breadcrumbs": trail,
            "switch_shops": shops_to_switch_to(user=request.user, current=shop),
            **context,
        },
        status=status,
    )
