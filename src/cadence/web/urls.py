"""Page routes: sign-in, the account page, the buyer's orders and deliveries, the demo's outbox
and the language switch."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from cadence.web import buyer_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.account_token_create, name="account-token-create"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        views.account_token_revoke,
        name="account-token-revoke",
    ),
    path("account/orders/", buyer_views.orders_page, name="buyer-orders"),
    path("account/orders/<int:order_id>/", buyer_views.order_page, name="buyer-order"),
    path(
        "account/orders/<int:order_id>/cancel/",
        buyer_views.order_cancel,
        name="buyer-order-cancel",
    ),
    path("account/subscriptions/", buyer_views.subscriptions_page, name="buyer-subscriptions"),
    path(
        "account/deliveries/<int:proxy_order_id>/skip/",
        buyer_views.delivery_skip,
        name="buyer-delivery-skip",
    ),
    path(
        "account/deliveries/<int:proxy_order_id>/resume/",
        buyer_views.delivery_resume,
        name="buyer-delivery-resume",
    ),
    path("manage/", include("cadence.web.manage.urls")),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:email_id>/", views.outbox_detail, name="outbox-detail"),
    path("i18n/", include("django.conf.urls.i18n")),
]
