"""Routes of the buyer's card pages, the authentication page and Stripe's webhook."""

from django.urls import path

from cadence.payments import views, webhooks

urlpatterns = [
    path("account/cards/", views.cards_page, name="cards"),
    path("account/cards/setup/", views.card_setup, name="card-setup"),
    path("account/cards/<int:card_id>/default/", views.card_make_default, name="card-default"),
    path("account/cards/<int:card_id>/delete/", views.card_remove, name="card-delete"),
    path("account/shops/<int:shop_id>/charges/", views.shop_charges, name="shop-charges"),
    path("pay/authenticate/<int:payment_id>/", views.payment_authenticate, name="pay-authenticate"),
    path("stripe/webhook", webhooks.stripe_webhook, name="stripe-webhook"),
]
