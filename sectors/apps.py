from django.apps import AppConfig


class SectorsConfig(AppConfig):
    name = "sectors"
    verbose_name = "Layer 2: sectors"
