"""The NinjaAPI instance of the REST API v1: bearer-token auth on every route, one router per
domain, errors mapped to HTTP in `cadence.api.errors`.

The OpenAPI description is at /api/v1/openapi.json and the browsable docs at /api/v1/docs.
The buyer's routes (/api/v1/me/…) are a router of their own, added here the same way."""

from ninja import NinjaAPI

from cadence.api import catalog, customers, cycles, enterprises, me, methods, orders, subscriptions
from cadence.api.auth import BearerToken, register_throttle_handler
from cadence.api.errors import register_exception_handlers
from cadence.api.server_errors import register_server_error_handler

api = NinjaAPI(
    title="Cadence API",
    version="1",
    urls_namespace="api-v1",
    auth=BearerToken(),
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
