"""URL routes: the REST API, the admin for operators, and the pages."""

from django.contrib import admin
from django.urls import include, path

from cadence.api.router import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("cadence.payments.urls")),
    path("", include("cadence.web.urls")),
]
