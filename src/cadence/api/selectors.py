"""Reads of API tokens: a user's tokens, newest first, and one of them by id or prefix."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from cadence.api.models import PREFIX_LENGTH, ApiToken, hash_token
from cadence.security import throttle


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The user's tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get(*, user, token_id: int) -> ApiToken | None:
    """The user's token with this id; None for another user's token, as for a missing one."""
    return ApiToken.objects.filter(user=user, pk=token_id).first()


def api_token_find(*, user, reference: str) -> list[ApiToken]:
    """The user's tokens that `reference` names: an id, the prefix shown in lists
    ("cad_AbCd" or "cad_AbCd…"), or the whole token. Several when two tokens share a
    prefix."""
    reference = reference.strip().rstrip("…")
    if not reference:
        return []
    tokens = api_token_list(user=user)
    if reference.isdigit():
        return list(tokens.filter(pk=int(reference)))
    if len(reference) > PREFIX_LENGTH:
        return list(tokens.filter(digest=hash_token(reference)))
    return list(tokens.filter(prefix=reference))


def api_token_for_bearer(*, token: str, ip_address: str, now: datetime) -> ApiToken | None:
    """The token a bearer presents, with its user and `blocked` (whether `ip_address` is
    refused for guessing tokens), in one query; None for an unknown token."""
    return (
        ApiToken.objects.select_related("user")
        .annotate(blocked=throttle.is_blocked_subquery(ip_address, now=now))
        .filter(digest=hash_token(token))
        .first()
    )
