"""Page routes: sign-in, the account page, the demo's outbox and the language switch."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from cadence.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="web/login.html", next_page="account"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="home"), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.account_token_create, name="account-token-create"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:email_id>/", views.outbox_detail, name="outbox-detail"),
    path("i18n/", include("django.conf.urls.i18n")),
]
