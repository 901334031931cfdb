"""Writes of API tokens: create one (the raw token is returned once, only its digest is
kept) and revoke one or all of a user's tokens. The account page and the `cadence token`
command both go through these."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from cadence.api.models import PREFIX_LENGTH, ApiToken, hash_token

RAW_TOKEN_PREFIX = "cad_"


@transaction.atomic
def api_token_create(*, user: User) -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the raw token, which is never stored."""
    raw = RAW_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, digest=hash_token(raw), prefix=raw[:PREFIX_LENGTH])
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke `token`: the row is deleted, so the next request with it answers 401."""
    ApiToken.objects.filter(pk=token.pk).delete()
    return token


@transaction.atomic
def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every token of `user`; how many there were."""
    count, _by_model = ApiToken.objects.filter(user=user).delete()
    return count


def api_token_mark_used(*, api_token: ApiToken, now: datetime) -> None:
    """Record that the token was just used (without touching anything else of the row)."""
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
