from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "marketdata"
    verbose_name = "Market data sync"
