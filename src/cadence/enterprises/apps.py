from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "cadence.enterprises"
    label = "enterprises"
