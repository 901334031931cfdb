"""The NinjaAPI instance of the REST API v1: bearer-token auth on every route, one router per
domain, errors mapped to HTTP in `cadence.api.errors`.

The OpenAPI description is at /api/v1/openapi.json and the browsable docs at /api/v1/docs.
The buyer's routes (/api/v1/me/…) are a router of their own, added here the same way.
Each operation's description lists every error status it can answer (`document_errors`)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from ninja import NinjaAPI

from cadence.api import catalog, customers, cycles, enterprises, me, methods, orders, subscriptions
from cadence.api.auth import BearerToken, register_throttle_handler
from cadence.api.errors import json_edges, register_exception_handlers
from cadence.api.server_errors import register_server_error_handler
from cadence.customers.selectors import language_of_user

_DETAIL = {"$ref": "#/components/schemas/Detail"}
_ERRORS = {"$ref": "#/components/schemas/Errors"}
_DETAIL_SCHEMA = {
    "title": "Detail",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string"}},
    "required": ["detail"],
}
_ERRORS_SCHEMA = {
    "title": "Errors",
    "type": "object",
    "properties": {
        "errors": {
            "title": "Errors",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    },
    "required": ["errors"],
}
_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "No token or a bad token",
    403: "Allowed to see but not to do",
    404: "Not found (or not yours)",
    409: "A state conflict",
    413: "The body is too large",
    422: "Invalid input",
    429: "Too many bad tokens from this address; see Retry-After",
}


def user_language(user) -> str | None:
    """The language a user reads: the one their shops' customer lists have for them (the
    buyer's language); None when there is none (then the site's default)."""
    return language_of_user(user)


class TokenAuth(BearerToken):
    """The bearer token; a request that names no language (`Accept-Language`, or the
    language cookie of the pages) gets answers in the user's language from here on, errors
    included. That costs one query, only for such requests."""

    def authenticate(self, request: HttpRequest, token: str):
        user = super().authenticate(request, token)
        named = request.headers.get("Accept-Language") or (
            settings.LANGUAGE_COOKIE_NAME in request.COOKIES
        )
        if user is not None and not named:
            language = user_language(user)
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return user


def _error(status: int) -> dict:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": _ERRORS if status == 422 else _DETAIL}},
    }


def document_errors(schema: dict) -> dict:
    """Add to each operation the errors the edges answer whatever the route: 401 (and 429
    for an address that guessed tokens) where a token is needed, 404 where the path has an
    id, 400, 413 and 422 where there is a body, 422 where there are query parameters. Routes
    list their own 403 and 409."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Detail", _DETAIL_SCHEMA)
    components.setdefault("Errors", _ERRORS_SCHEMA)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            statuses = []
            if operation.get("security"):
                statuses += [401, 429]
            if "{" in path:
                statuses.append(404)
            if "requestBody" in operation:
                statuses += [400, 413, 422]
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                statuses.append(422)
            # Ninja keys the routes' own answers by int; JSON keys are strings, so one key
            # type avoids a document with "401" twice (which Swagger UI refuses to show).
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            operation["responses"] = responses
            for status in statuses:
                responses.setdefault(str(status), _error(status))
    return schema


class CadenceAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema)

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = json_edges(pattern.callback)
        return patterns, app_name, namespace


api = CadenceAPI(
    title="Cadence API",
    version="1",
    urls_namespace="api-v1",
    auth=TokenAuth(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)
register_exception_handlers(api)
# Token guessing (429) and unexpected errors (500, logged): separate from the domain errors.
register_throttle_handler(api)
register_server_error_handler(api)

for module in (enterprises, methods, catalog, customers, cycles, subscriptions, orders):
    api.add_router("", module.router)
api.add_router("/me", me.router)
