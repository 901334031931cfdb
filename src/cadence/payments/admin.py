"""Operators' admin for payment methods, payments, saved cards, consents and Stripe events."""

from django.contrib import admin

from cadence.payments.models import (
    ChargeConsent,
    Payment,
    PaymentMethod,
    SavedCard,
    StripeCustomer,
    StripeEvent,
)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "kind", "fee", "fee_percent", "active"]
    list_select_related = ["shop"]
    list_filter = ["kind", "active", "shop"]
    search_fields = ["name", "shop__name"]
    autocomplete_fields = ["shop"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "method", "amount", "state", "gateway_reference", "created_at"]
    list_select_related = ["order", "method"]
    list_filter = ["state", "method__kind"]
    search_fields = ["order__number", "gateway_reference"]
    raw_id_fields = ["order"]


@admin.register(SavedCard)
class SavedCardAdmin(admin.ModelAdmin):
    list_display = ["user", "brand", "last4", "exp_month", "exp_year", "is_default"]
    list_select_related = ["user"]
    list_filter = ["brand", "is_default", "usable_off_session"]
    search_fields = ["user__email", "last4"]
    raw_id_fields = ["user"]


@admin.register(ChargeConsent)
class ChargeConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "given_at", "withdrawn_at"]
    list_select_related = ["user", "shop"]
    list_filter = ["shop", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "shop__name"]
    raw_id_fields = ["user", "shop"]


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "stripe_customer_id", "created_at"]
    search_fields = ["user__email", "stripe_customer_id"]
    raw_id_fields = ["user"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_event_id", "type", "received_at"]
    list_filter = ["type"]
    search_fields = ["stripe_event_id"]
