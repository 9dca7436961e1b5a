from django.apps import AppConfig


class MacroConfig(AppConfig):
    name = "macro"
    verbose_name = "Layer 1: macro"
