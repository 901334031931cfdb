"""URL routes: the REST API, the admin for operators, and the pages.

403 and 404 are Django's handlers rendering `403.html`/`404.html` (the site's layout, with the
request); the 500 page has its own handler, which renders without the database or a session.
"""

from django.contrib import admin
from django.urls import include, path

from cadence.api.router import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("cadence.payments.urls")),
    path("", include("cadence.web.urls")),
]

handler500 = "cadence.web.views.server_error"
