"""URL routes: the REST API, the admin for operators, and the pages.

403 and 404 are Django's handlers rendering `403.html`/`404.html` (the site's layout, with the
request); the 500 page has its own handler, which renders without the database or a session.
Under /api/v1/ every answer is JSON: a path no route has (or an id that is not an integer)
answers 404 `{"detail": ...}` from the API's own catch-all.
"""

from django.contrib import admin
from django.urls import include, path, re_path

from cadence.api.errors import not_found as api_not_found
from cadence.api.router import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/", api_not_found),
    path("", include("cadence.payments.urls")),
    path("", include("cadence.web.urls")),
]

handler500 = "cadence.web.views.server_error"
