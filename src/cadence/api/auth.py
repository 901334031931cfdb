"""Bearer-token authentication: `Authorization: Bearer <token>`, looked up by its digest."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from cadence.api.models import ApiToken, hash_token

# Recording every use would write on every request; once a minute is enough to show
# "last used" on the account page.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerToken(HttpBearer):
    """Authenticates the user whose token's SHA-256 digest matches; None (→ 401) otherwise."""

    def authenticate(self, request: HttpRequest, token: str):
        if not token:
            return None
        api_token = ApiToken.objects.select_related("user").filter(digest=hash_token(token)).first()
        if api_token is None or not api_token.user.is_active:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = api_token.user
        return api_token.user
