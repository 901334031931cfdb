"""API tokens: a user's bearer tokens, stored as SHA-256 digests."""

import hashlib

from django.conf import settings
from django.db import models

# How much of a raw token is kept in clear, to tell a user's tokens apart ("cad_AbCd…").
PREFIX_LENGTH = 8


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user) -> tuple["ApiToken", str]:
        """Shorthand for `cadence.api.services.api_token_create` (the one way tokens are
        made), kept for the tests' builders."""
        from cadence.api.services import api_token_create

        return api_token_create(user=user)
