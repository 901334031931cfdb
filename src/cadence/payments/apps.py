from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "cadence.payments"
    label = "payments"
