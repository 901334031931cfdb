"""(being written)"""

from django.http import HttpResponse
from django.urls import path

from cadence.web.manage.access import manager_page


@manager_page
def placeholder(request, shop):
    return HttpResponse("")


urlpatterns = [
    path("payment-methods/", placeholder, name="manage-payment-methods"),
    path("shipping-methods/", placeholder, name="manage-shipping-methods"),
]
