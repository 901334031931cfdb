"""The manager's home: their shops, each shop's setup checklist, and its figures once set up."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import shops_listed_for_matching
from cadence.formatting import local_date
from cadence.subscriptions.setup import (
    STEPS,
    AttentionItem,
    setup_checklists,
    shop_overview,
    subscriptions_needing_attention,
)
from cadence.web.manage.access import manager_page
from cadence.web.manage.pages import render_page

SHOPS_PAGE_SIZE = 20


# What each setup step asks of the manager, and the page that does it.
STEP_LABELS = {
    "subscriptions_enabled": gettext_lazy("Turn subscriptions on in the shop's settings"),
    "payment_method": gettext_lazy(
        "Add a payment method: manual (cash, cheque, transfer) or Stripe"
    ),
    "shipping_method": gettext_lazy("Add a shipping method (delivery or pick-up)"),
    "customer": gettext_lazy("Add a customer to the shop's customer list"),
    "product": gettext_lazy("Add a product with its price and stock"),
    "order_cycle": gettext_lazy("Create an order cycle that is open or to come"),
    "schedule": gettext_lazy("Create a schedule with an order cycle that is open or to come"),
}
STEP_PAGES = {
    "subscriptions_enabled": "manage-settings",
    "payment_method": "manage-payment-methods",
    "shipping_method": "manage-shipping-methods",
    "customer": "manage-customers",
    "product": "manage-products",
    "order_cycle": "manage-order-cycles",
    "schedule": "manage-schedules",
}


@login_required
@require_GET
def manage_home(request: HttpRequest) -> HttpResponse:
    """A manager of one shop goes straight to it; one of several picks a shop here."""
    q = (request.GET.get("q") or "").strip()
    shops = shops_listed_for_matching(request.user, q=q)
    page = Paginator(shops, SHOPS_PAGE_SIZE).get_page(request.GET.get("page"))
    if not q and page.paginator.count == 0 and not request.user.is_staff:
        raise Http404
    if not q and page.paginator.count == 1:
        return redirect("manage-shop", shop_id=page.object_list[0].pk)
    checklists = setup_checklists(page.object_list)
    rows = [(shop, checklists[shop.pk]) for shop in page.object_list]

    return render(
        request,
        "manage/home/shops.html",
        {"page": page, "rows": rows, "q": q, "steps_total": len(STEPS)},
    )


ATTENTION_LABELS = {
    "order_failed": gettext_lazy("Order failed"),
    "payment_failed": gettext_lazy("Payment failed"),
    "payment_needs_authorization": gettext_lazy("Awaiting authentication"),
    "resuming": gettext_lazy("Resumes soon"),
}


def _subscription_url(shop: Enterprise, subscription_id: int) -> str:
    try:
        return reverse("manage-subscription", args=[shop.pk, subscription_id])
    except NoReverseMatch:
        return f"/manage/{shop.pk}/subscriptions/{subscription_id}/"


def _attention_row(shop: Enterprise, item: AttentionItem) -> dict:
    """What the home shows of one subscription needing attention."""
    customer = item.subscription.customer
    # Every kind but `resuming` names the cycle concerned.
    cycle_name = item.order_cycle.name if item.order_cycle is not None else ""
    if item.kind == "resuming":
        detail = _("Paused; resumes on %(date)s.") % {
            "date": local_date(item.resume_on, shop.timezone)
        }
    elif item.kind == "payment_needs_authorization":
        detail = _("%(cycle)s: the buyer must authenticate the card payment.") % {
            "cycle": cycle_name
        }
    elif item.reason:
        detail = _("%(cycle)s: %(reason)s") % {
            "cycle": cycle_name,
            "reason": item.reason,
        }
    else:
        detail = cycle_name
    return {
        "kind": item.kind,
        "label": ATTENTION_LABELS[item.kind],
        "customer": customer.full_name or customer.email,
        "url": _subscription_url(shop, item.subscription.pk),
        "detail": detail,
    }


@require_GET
@manager_page
def shop_home(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    checklist = setup_checklists([shop])[shop.pk]
    steps = [
        {"label": STEP_LABELS[step], "url": reverse(STEP_PAGES[step], args=[shop.pk]), "done": done}
        for step, done in checklist.steps()
    ]
    overview = shop_overview(shop=shop) if checklist.complete else None
    attention = subscriptions_needing_attention(shop=shop) if checklist.complete else None
    return render_page(
        request,
        "manage/home/shop.html",
        shop=shop,
        title=_("Overview"),
        area="home",
        checklist=checklist,
        steps=steps,
        overview=overview,
        attention=attention,
        attention_rows=[_attention_row(shop, item) for item in attention.items]
        if attention
        else [],
    )


# The list page of each area, for the shop switcher: the same page on the other shop.
AREA_PAGES = {
    "home": "manage-shop",
    "settings": "manage-settings",
    "payment-methods": "manage-payment-methods",
    "shipping-methods": "manage-shipping-methods",
    "customers": "manage-customers",
    "subscriptions": "manage-subscriptions",
    "products": "manage-products",
    "order-cycles": "manage-order-cycles",
    "schedules": "manage-schedules",
}


@login_required
@require_GET
def switch_shop(request: HttpRequest) -> HttpResponse:
    """Go to the same area of another shop (the shop page itself checks access)."""
    try:
        shop_id = int(request.GET.get("shop", ""))
        return redirect(
            reverse(AREA_PAGES.get(request.GET.get("area", ""), "manage-shop"), args=[shop_id])
        )
    except (ValueError, NoReverseMatch):
        raise Http404 from None
