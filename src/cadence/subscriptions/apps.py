from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "cadence.subscriptions"
    label = "subscriptions"
