"""One place where errors become HTTP answers, every one of them JSON.

Domain errors from services: ValidationFailed → 422 `{"errors": {field: [...]}}`, Conflict →
409, NotFound → 404, PermissionDenied → 403, each `{"detail": ...}`. Input the schemas reject
(wrong types, missing or unknown fields, values out of range) also answers 422 with the same
`errors` shape, keyed by the API's field name: the top-level field, for an error inside a list
or an object also the innermost field and the dotted path (`line_items`, `quantity` and
`line_items.1.quantity`). Messages are in the request's language: pydantic's own (English)
texts are replaced by translated ones per error type. The schemas carry the database's
limits (see `inputs`); a value that still does not fit a column is invalid input too: 422
under `__all__`, never a 500.

The edges of the HTTP layer answer JSON too: a body that is not JSON 422 under `__all__`
(invalid input, as the contract has it), one that cannot be read otherwise 400, a body over
DATA_UPLOAD_MAX_MEMORY_SIZE 413, and, through `json_edges` and `not_found` (wired in `router`
and `cadence.urls`), a path or an id that matches no route 404 and a method a route does not
have 405 with its `Allow` header.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from cadence.api.inputs import MAX_ID
from cadence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

# Where a parameter comes from: the first element of an error location. A body's location
# then names the handler's parameter ("payload") before the fields.
_SOURCES = {"query", "path", "header", "cookie", "form", "file"}


def field_names(loc) -> list[str]:
    """The API fields an error location points at: the top-level field of the body or query,
    and also, for an error inside a list or an object, the innermost named field and the
    dotted path (list indexes 0-based), so a client looking for any of them finds it.

    `("body", "payload", "line_items", 1, "quantity")` → `["line_items", "quantity",
    "line_items.1.quantity"]`; `("body", "payload", "line_items", 0)` → `["line_items",
    "line_items.0"]`; `("query", "page")` → `["page"]`; the body itself → `["__all__"]`."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts and parts[0] in _SOURCES:
        parts = parts[1:]
    names = [part for part in parts if isinstance(part, str)]
    if not names:
        return ["__all__"]
    keys = [names[0]]
    for key in (names[-1], ".".join(str(part) for part in parts)):
        if key not in keys:
            keys.append(key)
    return keys


def _choices(expected: str) -> str:
    # pydantic writes the choices as "'a', 'b' or 'c'": the "or" is English.
    return ", ".join(part.strip() for part in expected.replace(" or ", ", ").split(","))


def _message(error: dict) -> str:
    """The error in the active language: one text per pydantic error type (its own texts are
    English only); the texts of our validators are already translated."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("too_long", "too_short") and ctx.get("field_type") not in ("List", "Tuple", "Set"):
        # A length limit on text with a validator (`Text`) is checked as a generic length.
        kind = f"string_{kind}"
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("string_type", "string_unicode"):
        return _("Enter text (a JSON string).")
    if kind in ("bool_type", "bool_parsing"):
        return _("Enter true or false.")
    if kind in ("model_type", "model_attributes_type", "dict_type", "dataclass_type"):
        return _("Enter an object (a JSON object of named fields).")
    if kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        return _("Enter a list (a JSON array).")
    if kind in ("decimal_type", "decimal_parsing", "float_type", "float_parsing"):
        return _("Enter a number.")
    if kind == "finite_number":
        return _("Enter a finite number.")
    if kind in (
        "datetime_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_object_invalid",
    ):
        return _("Enter a valid date and time in ISO 8601 (e.g. 2026-01-05T09:00).")
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return _("Enter a valid date in ISO 8601 (e.g. 2026-01-05).")
    if kind == "date_from_datetime_inexact":
        return _("Enter a date without a time (e.g. 2026-01-05).")
    if kind in ("literal_error", "enum"):
        return _("Enter one of: %(choices)s.") % {"choices": _choices(ctx.get("expected", ""))}
    if kind == "string_too_long":
        n = ctx.get("max_length", 0)
        return ngettext("Enter at most %(n)d character.", "Enter at most %(n)d characters.", n) % {
            "n": n
        }
    if kind == "string_too_short":
        n = ctx.get("min_length", 0)
        return ngettext(
            "Enter at least %(n)d character.", "Enter at least %(n)d characters.", n
        ) % {"n": n}
    if kind == "too_short":
        n = ctx.get("min_length", 0)
        return ngettext("Give at least %(n)d item.", "Give at least %(n)d items.", n) % {"n": n}
    if kind == "too_long":
        n = ctx.get("max_length", 0)
        return ngettext("Give at most %(n)d item.", "Give at most %(n)d items.", n) % {"n": n}
    if kind == "greater_than_equal":
        return _("Enter a value of at least %(limit)s.") % {"limit": ctx.get("ge")}
    if kind == "greater_than":
        return _("Enter a value greater than %(limit)s.") % {"limit": ctx.get("gt")}
    if kind == "less_than_equal":
        return _("Enter a value of at most %(limit)s.") % {"limit": ctx.get("le")}
    if kind == "less_than":
        return _("Enter a value less than %(limit)s.") % {"limit": ctx.get("lt")}
    if kind == "decimal_max_places":
        n = ctx.get("decimal_places", 0)
        return ngettext(
            "Enter at most %(n)d decimal place.", "Enter at most %(n)d decimal places.", n
        ) % {"n": n}
    if kind == "decimal_whole_digits":
        n = ctx.get("whole_digits", 0)
        return ngettext(
            "Enter at most %(n)d digit before the decimal point.",
            "Enter at most %(n)d digits before the decimal point.",
            n,
        ) % {"n": n}
    if kind == "decimal_max_digits":
        n = ctx.get("max_digits", 0)
        return ngettext("Enter at most %(n)d digit.", "Enter at most %(n)d digits.", n) % {"n": n}
    if kind == "value_error":
        # Our validators' messages, translated when raised; pydantic prefixes them.
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return _("Enter a valid value.")


def _status_detail(status: int) -> str:
    """The `detail` of an answer the HTTP layer makes by itself (no route, no method…)."""
    if status == 404:
        return _("Not found.")
    if status == 405:
        return _("This method is not allowed here.")
    if status == 413:
        return _("The request body is too large (at most %(size)d bytes).") % {
            "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        }
    if status == 400:
        return _("The request cannot be read.")
    if status == 401:
        return _("Authentication required: send 'Authorization: Bearer <token>'.")
    if status == 403:
        return _("You are not allowed to do this.")
    if status == 429:
        return _("Too many requests; try again later.")
    return _("The request failed.")


def json_error(status: int, detail: str | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail or _status_detail(status)}, status=status)


@csrf_exempt  # like the API's routes: a POST to an unknown path is a 404, not a CSRF 403
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any path under /api/v1/ that no route has (an unknown path, an id that is not an
    integer): 404 in JSON, like an object that does not exist."""
    return json_error(404)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def json_edges(view):
    """Wraps a view of the API's URLs: an id beyond the 64-bit columns is not found (404)
    rather than an overflow, and an error answer that is not JSON (ninja's 405 for a method
    a path does not have) is made JSON, keeping its headers (`Allow`)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in kwargs.values()):
            return json_error(404)
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            # The API's root (`/api/v1/`) has no content outside DEBUG.
            return json_error(404)
        if response.status_code >= 400 and not _is_json(response):
            answer = json_error(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    answer[header] = response[header]
            return answer
        return response

    return wrapper


def register_exception_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationFailed)
    def validation_failed(request: HttpRequest, exc: ValidationFailed):
        return api.create_response(request, {"errors": exc.errors}, status=422)

    @api.exception_handler(NinjaValidationError)
    def schema_validation(request: HttpRequest, exc: NinjaValidationError):
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            message = _message(error)
            for name in field_names(error.get("loc", ())):
                messages = errors.setdefault(name, [])
                if message not in messages:
                    messages.append(message)
        return api.create_response(request, {"errors": errors}, status=422)

    @api.exception_handler(Conflict)
    def conflict(request: HttpRequest, exc: Conflict):
        return api.create_response(request, {"detail": exc.detail}, status=409)

    @api.exception_handler(NotFound)
    def not_found_error(request: HttpRequest, exc: NotFound):
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

    def out_of_range(request: HttpRequest, exc: object) -> HttpResponse:
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
        return api.create_response(request, {"detail": _status_detail(401)}, status=401)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig):
        # Raised by Django when ninja first reads the body (before it tries to parse it).
        return api.create_response(request, {"detail": _status_detail(413)}, status=413)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        # ninja raises HttpError(400) when it cannot parse the body: not JSON (422), or
        # unreadable otherwise (400).
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, RequestDataTooBig):
            return api.create_response(request, {"detail": _status_detail(413)}, status=413)
        if exc.status_code == 400 and isinstance(cause, ValueError):
            # Invalid input like any other (the contract's 422), under `__all__`.
            message = _("The request body is not valid JSON.")
            return api.create_response(request, {"errors": {"__all__": [message]}}, status=422)
        status = exc.status_code
        detail = _status_detail(status) if status == 400 else str(exc)
        return api.create_response(request, {"detail": detail}, status=status)
