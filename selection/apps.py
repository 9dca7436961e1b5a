from django.apps import AppConfig


class SelectionConfig(AppConfig):
    name = "selection"
    verbose_name = "Layer 3: selection"
    # Its model architecture, asset_selection, is registered by trading (trading/asset_selection.py).
