from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "cadence.orders"
    label = "orders"
