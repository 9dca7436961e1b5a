from django.apps import AppConfig


class SectorsConfig(AppConfig):
    name = "sectors"
    verbose_name = "Layer 2: sectors"

    def ready(self):
        # Register this layer's model architectures with the ai registry, and how the
        # look-ahead check perturbs its tables.
        from . import lookahead, predictors  # noqa: F401
