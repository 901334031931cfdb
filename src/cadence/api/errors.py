"""One place where errors become HTTP answers.

Domain errors from services: ValidationFailed → 422 `{"errors": {field: [...]}}`, Conflict →
409, NotFound → 404, PermissionDenied → 403, each `{"detail": ...}`. Input the schemas reject
(wrong types, missing fields, values out of range, a body that is not JSON) also answers 422
with the same `errors` shape, keyed by the API's field name: the top-level field, and for an
error inside a list or an object also the innermost field (`line_items` and `quantity`). The
schemas carry the database's limits (see `inputs`); a value that still does not fit a column
is invalid input too: 422 under `__all__`, never a 500.
"""

from __future__ import annotations

from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from cadence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

# Where a parameter comes from: the first element of an error location. A body's location
# then names the handler's parameter ("payload") before the fields.
_SOURCES = {"query", "path", "header", "cookie", "form", "file"}


def field_names(loc) -> list[str]:
    """The API fields an error location points at: the top-level field of the body or query,
    and also, for an error inside a list or an object, the innermost named field, so a client
    looking for either finds it.

    `("body", "payload", "line_items", 0, "quantity")` → `["line_items", "quantity"]`;
    `("body", "payload", "line_items", 0)` → `["line_items"]`; `("query", "page")` →
    `["page"]`; the body itself → `["__all__"]`."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts and parts[0] in _SOURCES:
        parts = parts[1:]
    names = [part for part in parts if isinstance(part, str)]
    if not names:
        return ["__all__"]
    top, innermost = names[0], names[-1]
    return [top] if top == innermost else [top, innermost]


def _message(error: dict) -> str:
    if error.get("type") == "missing":
        return _("This field is required.")
    msg = error.get("msg", "")
    # Pydantic prefixes messages of custom validators with "Value error, ".
    return msg.removeprefix("Value error, ")


def register_exception_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationFailed)
    def validation_failed(request: HttpRequest, exc: ValidationFailed):
        return api.create_response(request, {"errors": exc.errors}, status=422)

    @api.exception_handler(NinjaValidationError)
    def schema_validation(request: HttpRequest, exc: NinjaValidationError):
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            for name in field_names(error.get("loc", ())):
                messages = errors.setdefault(name, [])
                message = _message(error)
                if message not in messages:
                    messages.append(message)
        return api.create_response(request, {"errors": errors}, status=422)

    @api.exception_handler(Conflict)
    def conflict(request: HttpRequest, exc: Conflict):
        return api.create_response(request, {"detail": exc.detail}, status=409)

    @api.exception_handler(NotFound)
    def not_found(request: HttpRequest, exc: NotFound):
        return api.create_response(request, {"detail": exc.detail}, status=404)

    @api.exception_handler(Http404)
    def http_404(request: HttpRequest, exc: Http404):
        return api.create_response(request, {"detail": _("Not found.")}, status=404)

    @api.exception_handler(PermissionDenied)
    def permission_denied(request: HttpRequest, exc: PermissionDenied):
        return api.create_response(request, {"detail": exc.detail}, status=403)

    @api.exception_handler(IntegrityError)
    def integrity_error(request: HttpRequest, exc: IntegrityError):
        # Services validate first; a constraint still failing means a concurrent request
        # wrote the same thing in between (e.g. the same customer email twice).
        return api.create_response(
            request,
            {"detail": _("This conflicts with a change made at the same time; try again.")},
            status=409,
        )

    def out_of_range(request: HttpRequest, exc: Exception):
        # Raised by the database (driver) when a value does not fit its column, or by Python
        # when an integer does not fit SQLite's; the service's transaction is rolled back, so
        # nothing is written.
        message = _(
            "A value in the request cannot be stored: it is too large, too long or contains "
            "a NUL character."
        )
        return api.create_response(request, {"errors": {"__all__": [message]}}, status=422)

    api.add_exception_handler(OverflowError, out_of_range)
    api.add_exception_handler(DataError, out_of_range)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError):
        return api.create_response(
            request,
            {"detail": _("Authentication required: send 'Authorization: Bearer <token>'.")},
            status=401,
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        # A body that is not JSON: ninja raises HttpError(400) from the decoding error.
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            return api.create_response(
                request,
                {"errors": {"__all__": [_("The request body is not valid JSON.")]}},
                status=422,
            )
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
