from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "cadence.subscriptions"
    label = "subscriptions"

    def ready(self) -> None:
        # Payments tells us about a payment that fails after confirmation (it never imports
        # subscriptions): the proxy order is marked failed and the buyer emailed.
        from cadence.payments import services as payments
        from cadence.subscriptions.services.confirmation import proxy_order_payment_failed

        if proxy_order_payment_failed not in payments.on_payment_failed:
            payments.on_payment_failed.append(proxy_order_payment_failed)

        # Order emails store a reference to the order; this app expands it when they are sent.
        from cadence.notifications.registry import register_context_builder
        from cadence.subscriptions.services.emails import (
            ORDER_EMAIL_KINDS,
            order_email_context_from_db,
        )

        for kind in ORDER_EMAIL_KINDS:
            register_context_builder(kind, order_email_context_from_db)
