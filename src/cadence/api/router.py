"""The NinjaAPI instance of the REST API v1."""

from ninja import NinjaAPI

api = NinjaAPI(title="Cadence API", version="1", urls_namespace="api-v1")
