from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Layer 4: trading"

    def ready(self):
        # Register this layer's model architectures with the ai registry.
        from . import asset_selection, predictors  # noqa: F401
