from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "cadence.customers"
    label = "customers"
