"""The buyer's pages for their subscription orders and deliveries.

Thin: reads come from `subscriptions.buyer_selectors`, writes from
`subscriptions.services.buyer`, which also decide what a buyer may do; these views only parse
the forms, show dates in the shop's time zone and money in the shop's currency, and turn the
services' errors into words.

Every form posts and redirects back with a message, so the pages work without JavaScript. With
htmx the same forms post in the background and swap their section in place (`hx-select` picks
it from the page the redirect leads to), so there is one code path for both.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cadence import formatting
from cadence.cycles.domain import is_current
from cadence.enterprises.models import Enterprise
from cadence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cadence.orders.models import LineItem, Order, OrderState
from cadence.subscriptions.buyer_selectors import (
    buyer_current_orders,
    buyer_order_get,
    buyer_past_orders,
    buyer_subscriptions,
    changes_allowed_until,
    delivery_changes_allowed,
    order_changes_allowed,
)
from cadence.subscriptions.domain import Status
from cadence.subscriptions.models import ProxyOrderState, Subscription
from cadence.subscriptions.selectors import subscription_status
from cadence.subscriptions.services import buyer

PAST_ORDERS_PAGE_SIZE = 20

STATUS_LABELS = {
    Status.ACTIVE: gettext_lazy("Active"),
    Status.PENDING: gettext_lazy("Not started yet"),
    Status.PAUSED: gettext_lazy("Paused"),
    Status.ENDED: gettext_lazy("Ended"),
    Status.CANCELED: pgettext_lazy("subscription status", "Canceled"),
}


# --- presentation helpers ------------------------------------------------------------------


def shop_datetime(value: datetime | None, shop: Enterprise) -> str:
    """A date and time in the shop's zone, in the page's language, with the zone's name: the
    buyer may live elsewhere, but the shop's cycles close on the shop's clock."""
    if value is None:
        return ""
    zone_name = timezone.localtime(value, ZoneInfo(shop.timezone)).tzname()
    return f"{formatting.local_datetime(value, shop.timezone)} ({zone_name})"


def shop_money(amount: Decimal, shop: Enterprise) -> str:
    """An amount in the shop's currency, in the page's language: `34,20 €` / `€34.20`."""
    return formatting.money(amount, shop.currency)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _refused(request: HttpRequest, *, message: str, status: int, back_url: str) -> HttpResponse:
    """A page that says in words why a change was not made (403: the shop does not allow it;
    409: too late, or the order is canceled)."""
    response = render(
        request,
        "web/buyer/refused.html",
        {"message": message, "back_url": back_url, "conflict": status == 409},
        status=status,
    )
    if _is_htmx(request):
        # htmx does not swap error answers: send the explanation as a 200 that replaces the
        # page's main area, so the buyer sees it rather than a button that does nothing.
        response.status_code = 200
        response["HX-Retarget"] = "main"
        response["HX-Reselect"] = "main"
        response["HX-Reswap"] = "outerHTML"
    return response


def _change_note(order: Order, now: datetime) -> str:
    """One sentence on whether and until when the buyer may change the order."""
    shop = order.shop
    if not shop.allow_order_changes:
        return _("Changes not allowed: %(shop)s does not allow changes to orders.") % {
            "shop": shop.name
        }
    if order.state == OrderState.CANCELED:
        return _("This order is canceled: it can no longer be changed.")
    if not order_changes_allowed(order, now=now):
        return _("Changes not allowed: the order cycle closed on %(date)s.") % {
            "date": shop_datetime(order.order_cycle.closes_at, shop)
        }
    return _("Changes allowed until %(date)s.") % {
        "date": shop_datetime(changes_allowed_until(order), shop)
    }


def _line_row(line: LineItem, shop: Enterprise) -> dict:
    return {
        "line": line,
        "name": line.variant.full_name,
        "unavailable": line.variant.is_deleted,
        "reduced": line.quantity < line.requested_quantity,
        "price": shop_money(line.price, shop),
        "total": shop_money(line.price * line.quantity, shop),
    }


def _order_row(order: Order, now: datetime) -> dict:
    shop = order.shop
    return {
        "order": order,
        "shop": shop,
        "lines": [_line_row(li, shop) for li in order.line_items.all()],
        "item_total": shop_money(order.item_total, shop),
        "fee_total": shop_money(order.fee_total, shop),
        "total": shop_money(order.total, shop),
        "placed_at": shop_datetime(order.placed_at, shop),
        "closes_at": shop_datetime(order.order_cycle.closes_at, shop),
        "can_change": order_changes_allowed(order, now=now),
        "change_note": _change_note(order, now),
    }


# --- orders --------------------------------------------------------------------------------


def _buyer(request: HttpRequest) -> User:
    """The signed-in buyer (every page here is login_required)."""
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def orders_page(request: HttpRequest) -> HttpResponse:
    """Orders whose cycle has not closed ("upcoming and open"), then the past ones."""
    now = timezone.now()
    open_orders = [_order_row(o, now) for o in buyer_current_orders(request.user, now=now)]
    page = Paginator(buyer_past_orders(request.user, now=now), PAST_ORDERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "web/buyer/orders.html",
        {
            "open_orders": open_orders,
            "past_orders": [_order_row(o, now) for o in page.object_list],
            "page": page,
        },
    )


class OrderLinesForm(forms.Form):
    """One quantity per line still in the order; it may be lowered (0 removes the line) but
    not raised. The service checks the same again under a lock; the form's bounds are there so
    each error shows next to its line."""

    def __init__(self, *args, lines: list[LineItem], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {line.variant_id: line for line in lines if line.quantity > 0}
        for variant_id, line in self.lines.items():
            self.fields[self.field_name(variant_id)] = forms.IntegerField(
                label=line.variant.full_name,
                min_value=0,
                max_value=line.quantity,
                initial=line.quantity,
                error_messages={
                    "required": _("Give a quantity (0 removes the line)."),
                    "invalid": _("Give a whole number."),
                    "min_value": _("The quantity cannot be below 0."),
                    "max_value": _("Quantities can only be lowered here: at most %(limit_value)s."),
                },
            )

    @staticmethod
    def field_name(variant_id: int | str) -> str:
        return f"line-{variant_id}"

    def changes(self) -> list[tuple[int, int]]:
        """(variant_id, quantity) for the lines whose quantity changed."""
        return [
            (variant_id, self.cleaned_data[self.field_name(variant_id)])
            for variant_id, line in self.lines.items()
            if self.cleaned_data[self.field_name(variant_id)] != line.quantity
        ]


def _order_or_404(request: HttpRequest, order_id: int) -> Order:
    try:
        return buyer_order_get(user=request.user, order_id=order_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _render_order(request: HttpRequest, order: Order, form: OrderLinesForm | None = None):
    now = timezone.now()
    row = _order_row(order, now)
    if row["can_change"] and form is None:
        form = OrderLinesForm(lines=list(order.line_items.all()))
    fields = {}
    if form is not None:
        fields = {variant_id: form[form.field_name(variant_id)] for variant_id in form.lines}
    for line_row in row["lines"]:
        line_row["field"] = fields.get(line_row["line"].variant_id)
    return render(
        request,
        "web/buyer/order_detail.html",
        {"row": row, "order": order, "form": form if row["can_change"] else None},
    )


def _service_refusal(request: HttpRequest, exc: Exception, back_url: str) -> HttpResponse:
    if isinstance(exc, PermissionDenied):
        return _refused(request, message=exc.detail, status=403, back_url=back_url)
    if isinstance(exc, Conflict):
        return _refused(request, message=exc.detail, status=409, back_url=back_url)
    raise exc


@login_required
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order; POST lowers quantities or removes lines (a `remove` button names one)."""
    order = _order_or_404(request, order_id)
    if request.method != "POST":
        return _render_order(request, order)
    back_url = reverse("buyer-order", args=[order.pk])
    data = request.POST.copy()
    remove = data.get("remove")
    if remove:
        data[OrderLinesForm.field_name(remove)] = "0"
    form = OrderLinesForm(data, lines=list(order.line_items.all()))
    if not form.is_valid():
        return _render_order(request, order, form)
    changes = form.changes()
    if not changes:
        messages.info(request, _("Nothing was changed."))
        return redirect(back_url)
    try:
        buyer.buyer_order_update(user=_buyer(request), order_id=order.pk, line_items=changes)
    except ValidationFailed as exc:
        for msgs in exc.errors.values():
            for message in msgs:
                form.add_error(None, message)
        return _render_order(request, _order_or_404(request, order_id), form)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except (PermissionDenied, Conflict) as exc:
        return _service_refusal(request, exc, back_url)
    messages.success(request, _("Your order was updated."))
    return redirect(back_url)


@login_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    back_url = reverse("buyer-order", args=[order.pk])
    try:
        buyer.buyer_order_cancel(user=_buyer(request), order_id=order.pk)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except (PermissionDenied, Conflict) as exc:
        return _service_refusal(request, exc, back_url)
    messages.success(request, _("Your order was canceled."))
    return redirect(back_url)


# --- subscriptions and deliveries ----------------------------------------------------------


def _delivery_row(proxy, subscription: Subscription, now: datetime) -> dict:
    shop = subscription.shop
    allowed = delivery_changes_allowed(proxy, shop=shop, now=now)
    order = proxy.order
    skipped = proxy.state == ProxyOrderState.CANCELED or (
        order is not None and order.state == OrderState.CANCELED
    )
    live = subscription.canceled_at is None
    return {
        "proxy": proxy,
        "cycle": proxy.order_cycle,
        "opens_at": shop_datetime(proxy.order_cycle.opens_at, shop),
        "closes_at": shop_datetime(proxy.order_cycle.closes_at, shop),
        "state": proxy.get_state_display(),
        "order": order,
        "can_skip": allowed and live and not skipped,
        "can_resume": allowed and live and skipped,
    }


def _subscription_row(subscription: Subscription, now: datetime) -> dict:
    shop = subscription.shop
    status = subscription_status(subscription, now=now)
    return {
        "subscription": subscription,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "begins_at": shop_datetime(subscription.begins_at, shop),
        "ends_at": shop_datetime(subscription.ends_at, shop),
        "lines": [
            {
                "name": li.variant.full_name,
                "quantity": li.quantity,
                "unavailable": li.variant.is_deleted,
            }
            for li in subscription.line_items.all()
        ],
        # Deliveries still ahead: the cycle has not closed (upcoming or open).
        "deliveries": [
            _delivery_row(p, subscription, now)
            for p in subscription.proxy_orders.all()
            if is_current(closes_at=p.order_cycle.closes_at, now=now)
        ],
    }


@login_required
@require_GET
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    shops: OrderedDict[int, dict] = OrderedDict()
    for subscription in buyer_subscriptions(request.user):
        group = shops.setdefault(
            subscription.shop_id, {"shop": subscription.shop, "subscriptions": []}
        )
        group["subscriptions"].append(_subscription_row(subscription, now))
    groups = sorted(shops.values(), key=lambda g: (g["shop"].name.lower(), g["shop"].pk))
    return render(request, "web/buyer/subscriptions.html", {"shops": groups})


def _delivery_action(request: HttpRequest, proxy_order_id: int, action, done: str):
    back_url = reverse("buyer-subscriptions")
    try:
        action(user=request.user, proxy_order_id=proxy_order_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except (PermissionDenied, Conflict) as exc:
        return _service_refusal(request, exc, back_url)
    messages.success(request, done)
    return redirect(back_url)


@login_required
@require_POST
def delivery_skip(request: HttpRequest, proxy_order_id: int) -> HttpResponse:
    return _delivery_action(
        request, proxy_order_id, buyer.buyer_delivery_skip, _("The delivery was skipped.")
    )


@login_required
@require_POST
def delivery_resume(request: HttpRequest, proxy_order_id: int) -> HttpResponse:
    return _delivery_action(
        request, proxy_order_id, buyer.buyer_delivery_resume, _("The delivery was resumed.")
    )
