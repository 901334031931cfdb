from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "cadence.catalog"
    label = "catalog"
