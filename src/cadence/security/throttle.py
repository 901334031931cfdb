"""API token throttling: an address that sent `API_TOKEN_FAILURE_LIMIT` bad tokens within a
minute is refused (429, with Retry-After) until that minute is over.

The count is a row per address and minute (fixed windows), so every web process shares it.
A refused address is refused even with a valid token: answering 200 to a right guess and 429
to wrong ones would let guessing go on at full speed. The check costs no query of its own: it
rides on the token lookup (see `cadence.api.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F

from cadence.security.models import TokenFailureWindow

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds until the address may try again


def window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _limit() -> int:
    return getattr(settings, "API_TOKEN_FAILURE_LIMIT", 10)


def is_blocked_subquery(ip_address: str, *, now: datetime) -> Exists:
    """An `Exists` telling whether the address is refused in the current window, for
    annotating the token lookup (one query for a valid token, as without throttling)."""
    return Exists(
        TokenFailureWindow.objects.filter(
            ip_address=ip_address, window_start=window_start(now), failures__gte=_limit()
        )
    )


def refusal(*, now: datetime) -> Refusal:
    end = window_start(now) + WINDOW
    return Refusal(retry_after=max(1, int((end - now).total_seconds() + 0.999)))


def check_blocked(ip_address: str, *, now: datetime) -> Refusal | None:
    """Whether the address is refused now (used when no valid token was found)."""
    blocked = TokenFailureWindow.objects.filter(
        ip_address=ip_address, window_start=window_start(now), failures__gte=_limit()
    ).exists()
    return refusal(now=now) if blocked else None


def record_failure(ip_address: str, *, now: datetime) -> None:
    """Count one bad token from the address in the current window, in one UPDATE (a row
    created when missing; a concurrent creation is caught by the unique constraint), and drop
    the windows that are over."""
    start = window_start(now)
    rows = TokenFailureWindow.objects.filter(ip_address=ip_address, window_start=start)
    with transaction.atomic():
        if not rows.update(failures=F("failures") + 1):
            try:
                with transaction.atomic():
                    TokenFailureWindow.objects.create(
                        ip_address=ip_address, window_start=start, failures=1
                    )
            except IntegrityError:
                rows.update(failures=F("failures") + 1)
    TokenFailureWindow.objects.filter(window_start__lt=start).delete()
