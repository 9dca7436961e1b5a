from django.apps import AppConfig


class MacroConfig(AppConfig):
    name = "macro"
    verbose_name = "Layer 1: macro"

    def ready(self):
        # Register this layer's model architectures with the ai registry, and how the
        # look-ahead check perturbs its tables.
        from . import lookahead, predictors  # noqa: F401
