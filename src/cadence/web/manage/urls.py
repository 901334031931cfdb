"""Routes of the back office: `/manage/` lists the user's shops, `/manage/<shop id>/<area>/…`
are one shop's pages. Each area module owns its routes."""

from django.urls import include, path

from cadence.web.manage import (
    catalog,
    customers,
    cycles,
    forecast,
    home,
    methods,
    orders,
    schedules,
    settings,
    subscription_form,
    subscriptions,
)

urlpatterns = [
    path("", home.manage_home, name="manage-home"),
    path("switch/", home.switch_shop, name="manage-switch"),
    path("<int:shop_id>/", home.shop_home, name="manage-shop"),
    path("<int:shop_id>/settings/", settings.shop_settings, name="manage-settings"),
    path("<int:shop_id>/", include(methods.urlpatterns)),
    path("<int:shop_id>/", include(customers.urlpatterns)),
    path("<int:shop_id>/", include(catalog.urlpatterns)),
    path("<int:shop_id>/", include(cycles.urlpatterns)),
    path("<int:shop_id>/", include(schedules.urlpatterns)),
    path("<int:shop_id>/", include(subscription_form.urlpatterns)),
    path("<int:shop_id>/", include(subscriptions.urlpatterns)),
    path("<int:shop_id>/", include(orders.urlpatterns)),
    path("<int:shop_id>/", include(forecast.urlpatterns)),
]
