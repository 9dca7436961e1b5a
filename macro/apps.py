from django.apps import AppConfig


class MacroConfig(AppConfig):
    name = "macro"
    verbose_name = "Layer 1: macro"

    def ready(self):
        # Register this layer's model architectures with the ai registry.
        from . import predictors  # noqa: F401
