"""Bearer-token authentication: `Authorization: Bearer <token>`, looked up by its digest.

Guessing is slowed per client address (`cadence.security.throttle`): after
API_TOKEN_FAILURE_LIMIT bad tokens in a minute the address answers 429 with Retry-After until
the minute is over. A valid token costs one query, as without throttling: whether its address
is refused rides on the token lookup.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.security import HttpBearer

from cadence.api.selectors import api_token_for_bearer
from cadence.api.services import api_token_mark_used
from cadence.security import throttle
from cadence.security.backends import client_ip

# Recording every use would write on every request; once a minute is enough to show
# "last used" on the account page.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiRequest(HttpRequest):
    """A request `BearerToken` let through: ninja sets `auth` to the token's user."""

    auth: User


class TooManyTokenFailures(Exception):
    """The client's address sent too many bad tokens; it may try again in `retry_after`
    seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class BearerToken(HttpBearer):
    """Authenticates the user whose token's SHA-256 digest matches; None (→ 401) otherwise,
    or TooManyTokenFailures (→ 429) for an address that guessed too often."""

    def __call__(self, request: HttpRequest):
        result = super().__call__(request)
        # Every failure counts, also a header that is not a bearer token (ninja answers 401
        # for it without calling `authenticate`); no header at all is not a guess.
        if not result and request.headers.get(self.header):
            now = timezone.now()
            ip_address = client_ip(request) or "unknown"
            refused = throttle.check_blocked(ip_address, now=now)
            if refused is not None:
                raise TooManyTokenFailures(refused.retry_after)
            throttle.record_failure(ip_address, now=now)
        return result

    def authenticate(self, request: HttpRequest, token: str):
        if not token:
            return None
        now = timezone.now()
        api_token = api_token_for_bearer(
            token=token, ip_address=client_ip(request) or "unknown", now=now
        )
        if api_token is None or not api_token.user.is_active:
            return None
        if api_token.blocked:  # type: ignore[attr-defined]  # annotated by the selector
            raise TooManyTokenFailures(throttle.refusal(now=now).retry_after)
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            api_token_mark_used(api_token=api_token, now=now)
        request.user = api_token.user
        return api_token.user


def register_throttle_handler(api: NinjaAPI) -> None:
    """429 `{"detail": ...}` with Retry-After for an address refused for guessing tokens."""

    @api.exception_handler(TooManyTokenFailures)
    def too_many_token_failures(request: HttpRequest, exc: TooManyTokenFailures):
        response = api.create_response(
            request,
            {
                "detail": _(
                    "Too many requests with an invalid token from your address; try again in "
                    "%(seconds)d seconds."
                )
                % {"seconds": exc.retry_after}
            },
            status=429,
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
