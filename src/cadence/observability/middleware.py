"""The request id: taken from the client's `X-Request-ID` when it looks like an id, otherwise
made here; sent back on the answer and attached to every log line of the request."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cadence.observability.logs import RequestContext, current_request

HEADER = "X-Request-ID"
# A proxy's or a client's id is kept only when it cannot forge log lines or headers: short,
# and letters, digits and a few separators.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def request_id_for(request: HttpRequest) -> str:
    given = request.headers.get(HEADER, "")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]  # an attribute of ours
        token = current_request.set(
            RequestContext(
                request_id=request_id,
                method=request.method or "",
                path=request.path,
                request=request,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[HEADER] = request_id
        return response
