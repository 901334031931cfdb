"""Sign-in throttling: django-axes' backend, and the client address both throttles count by."""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the connection's, or, behind a proxy that appends it
    (TRUST_X_FORWARDED_FOR=1), the right-most address of X-Forwarded-For, the only one a
    client cannot write itself. None when there is no valid address (a request made inside
    the server, such as the test client's `force_login`)."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        address = _address(forwarded[-1])
        if address:
            return address
    return _address(request.META.get("REMOTE_ADDR") or "")


def signin_username(request: HttpRequest, credentials: dict | None) -> str:
    """The account an attempt is counted against: the email as typed, in lower case, so that
    changing its case does not start a new count."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username", "")
    return str(username or "").strip().lower()


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' check before the password is checked. Sign-ins that come with no request
    (the test client's `login`, code run on the server) come from no address and are not
    throttled; every sign-in from the web comes with its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
