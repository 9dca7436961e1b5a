from django.apps import AppConfig


class CryptoPredictConfig(AppConfig):
    name = "cryptopredict"
    verbose_name = "CryptoPredict"

    def ready(self):
        from . import checks  # noqa: F401 - registers the project's system checks
