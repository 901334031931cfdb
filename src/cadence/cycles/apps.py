from django.apps import AppConfig


class CyclesConfig(AppConfig):
    name = "cadence.cycles"
    label = "cycles"
