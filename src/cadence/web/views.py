"""The minimal pages: home, the account page (API tokens) and the outbox where the emails
the instance sends can be read (staff only; in the demo, this is where the buyers' emails
land)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from cadence.api.models import ApiToken
from cadence.notifications.models import Email

OUTBOX_PAGE_SIZE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


def _account_context(request: HttpRequest) -> dict:
    user = request.user
    return {
        "enterprises": user.managed_enterprises.order_by("name", "id"),
        "tokens": ApiToken.objects.filter(user=user).order_by("-created_at", "-id"),
    }


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "web/account.html", _account_context(request))


@login_required
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    # The raw token is shown in this response only: the database keeps its digest.
    _token, raw = ApiToken.issue(request.user)
    return render(request, "web/account.html", {**_account_context(request), "new_token": raw})


def _require_staff(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied


@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    emails = Email.objects.order_by("-id").only(
        "id", "to", "subject", "kind", "status", "created_at", "sent_at"
    )
    page = Paginator(emails, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/outbox.html", {"page": page})


@login_required
@require_GET
def outbox_detail(request: HttpRequest, email_id: int) -> HttpResponse:
    _require_staff(request)
    email = get_object_or_404(Email, pk=email_id)
    return render(request, "web/outbox_detail.html", {"email": email})
