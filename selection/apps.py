from django.apps import AppConfig


class SelectionConfig(AppConfig):
    name = "selection"
    verbose_name = "Layer 3: selection"

    def ready(self):
        # Register this layer's model architectures with the ai registry.
        from . import predictors  # noqa: F401
