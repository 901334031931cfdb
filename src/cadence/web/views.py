"""The minimal pages: home, sign-in, the account page (API tokens), the outbox where the
emails the instance sends can be read (staff only; in the demo, this is where the buyers'
emails land), and the error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadence.api import selectors as token_selectors
from cadence.api import services as token_services
from cadence.enterprises.selectors import enterprises_managed_by
from cadence.notifications.models import Email, EmailStatus
from cadence.notifications.selectors import email_get, failed_email_count, outbox_emails
from cadence.notifications.services import emails_requeue
from cadence.web.context_processors import uses_back_office

OUTBOX_PAGE_SIZE = 50

# What the outbox says of an email's kind and status: the stored codes are for programs. A kind
# not listed here (an email queued by hand) shows its code.
EMAIL_KINDS = {
    "placement": pgettext_lazy("email kind", "Order placed"),
    "empty": pgettext_lazy("email kind", "No order this time"),
    "confirmation": pgettext_lazy("email kind", "Order confirmed"),
    "failed_payment": pgettext_lazy("email kind", "Payment failed"),
    "authentication": pgettext_lazy("email kind", "Payment to authorise"),
    "placement_summary": pgettext_lazy("email kind", "Shop summary: orders placed"),
    "confirmation_summary": pgettext_lazy("email kind", "Shop summary: orders confirmed"),
    "subscription_started": pgettext_lazy("email kind", "Subscription started"),
    "subscription_changed": pgettext_lazy("email kind", "Subscription changed"),
    "subscription_paused": pgettext_lazy("email kind", "Subscription paused"),
    "subscription_resumed": pgettext_lazy("email kind", "Subscription resumed"),
    "subscription_canceled": pgettext_lazy("email kind", "Subscription canceled"),
}
EMAIL_STATUSES: dict[str, Promise] = {
    EmailStatus.QUEUED: pgettext_lazy("email status", "Queued"),
    EmailStatus.SENDING: pgettext_lazy("email status", "Sending"),
    EmailStatus.SENT: pgettext_lazy("email status", "Sent"),
    EmailStatus.FAILED: pgettext_lazy("email status", "Failed"),
}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, speaking of the email people sign in with (it is their
    username) rather than of a "username" they never chose."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter a correct email and password. Note that both fields may be "
            "case-sensitive."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")

    def get_invalid_login_error(self):
        # django-axes marks the request when this account and address are locked out: say so
        # rather than "wrong password" (a right one is refused too until the cool-off ends).
        if getattr(self.request, "axes_locked_out", False):
            return ValidationError(signin_lockout_message(), code="locked_out")
        return super().get_invalid_login_error()


def signin_lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return ngettext(
        "Too many failed sign-in attempts for this account from your address. For your "
        "security, signing in is blocked for %(minutes)d minute; try again later.",
        "Too many failed sign-in attempts for this account from your address. For your "
        "security, signing in is blocked for %(minutes)d minutes; try again later.",
        minutes,
    ) % {"minutes": minutes}


def signin_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): the sign-in page
    with the reason, as 429. The admin's sign-in gets the same page, which posts back to it."""
    form = EmailAuthenticationForm(request, data=request.POST or None)
    # The errors are set rather than cleaned: cleaning would try to authenticate again.
    form._errors = ErrorDict(  # type: ignore[attr-defined]  # Django's own, not in its stubs
        {NON_FIELD_ERRORS: form.error_class([signin_lockout_message()])}
    )
    response = render(
        request,
        "web/login.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=429,
    )
    return response


class SignInView(auth_views.LoginView):
    """Sign-in. Without a `next`, managers (and staff) land in the back office, buyers on
    their account page."""

    template_name = "web/login.html"
    authentication_form = EmailAuthenticationForm

    def get_default_redirect_url(self) -> str:
        if uses_back_office(self.request.user):
            return reverse("manage-home")
        return reverse("account")


def _account_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)  # the views are login_required
    return {
        "enterprises": enterprises_managed_by(user),
        "tokens": token_selectors.api_token_list(user=user),
    }


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "web/account.html", _account_context(request))


@login_required
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    # The raw token is shown in this response only: the database keeps its digest.
    assert isinstance(request.user, User)  # login_required
    _token, raw = token_services.api_token_create(user=request.user)
    return render(request, "web/account.html", {**_account_context(request), "new_token": raw})


@login_required
@require_POST
def account_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    # Another user's token answers 404, like a token that does not exist.
    token = token_selectors.api_token_get(user=request.user, token_id=token_id)
    if token is None:
        raise Http404
    token_services.api_token_revoke(token=token)
    messages.success(
        request,
        _("Token %(prefix)s… revoked: programs using it are refused from now on.")
        % {"prefix": token.prefix},
    )
    return redirect(f"{reverse('account')}#tokens")


def _require_staff(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def outbox(request: HttpRequest) -> HttpResponse:
    """Every email, newest first. POST requeues every failed email."""
    _require_staff(request)
    if request.method == "POST":
        _requeued_message(request, emails_requeue())
        return redirect("outbox")
    emails = outbox_emails()
    page = Paginator(emails, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/outbox.html",
        {
            "page": page,
            "emails": [_with_labels(email) for email in page.object_list],
            "failed_count": failed_email_count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def outbox_detail(request: HttpRequest, email_id: int) -> HttpResponse:
    """One email as it was (or will be) sent. POST requeues it when it failed."""
    _require_staff(request)
    email = email_get(email_id=email_id)
    if email is None:
        raise Http404
    if request.method == "POST":
        _requeued_message(request, emails_requeue(ids=[email.pk]))
        return redirect("outbox-detail", email_id=email.pk)
    return render(request, "web/outbox_detail.html", {"email": _with_labels(email)})


def _requeued_message(request: HttpRequest, count: int) -> None:
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)s failed email is queued again; it will be sent shortly.",
                "%(count)s failed emails are queued again; they will be sent shortly.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, gettext("No failed email to requeue."))


def _with_labels(email: Email) -> Email:
    """`email` with the words for its kind and status, in the reader's language."""
    # Read by the outbox's template.
    email.kind_label = EMAIL_KINDS.get(email.kind, email.kind)  # type: ignore[attr-defined]
    email.status_label = EMAIL_STATUSES.get(email.status, email.status)  # type: ignore[attr-defined]
    return email


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused by the CSRF check (settings.CSRF_FAILURE_VIEW): in the site's layout and
    the visitor's language, saying what to do, rather than Django's technical page."""
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page. Something already went wrong, so it asks as little as possible: no
    database, no session, no request context; only the visitor's language, read again from
    the request (cookie, then Accept-Language) in case the failure came before it was set."""
    language = translation.get_language_from_request(request)
    try:
        with translation.override(language):
            html = loader.get_template("500.html").render({"LANGUAGE_CODE": language})
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        return HttpResponseServerError(
            "<h1>Server Error (500)</h1>", content_type="text/html; charset=utf-8"
        )
    return HttpResponseServerError(html)
