"""The API's answer to an unexpected error: logged with its traceback and the request's
context (the log line's request id is also the answer's X-Request-ID), and answered 500
`{"detail": ...}` in JSON like every other answer of the API."""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI

logger = logging.getLogger("cadence.api")


def register_server_error_handler(api: NinjaAPI) -> None:
    # Registered for Exception: ninja picks the most specific handler along the exception's
    # classes, so the domain errors keep theirs (`cadence.api.errors`).
    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception):
        logger.error(
            "Internal Server Error: %s %s",
            request.method,
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        response = api.create_response(
            request,
            {"detail": _("Something went wrong on our side; it has been logged. Try again later.")},
            status=500,
        )
        # Already logged with its traceback; Django would add a line without it.
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django reads this flag
        return response
