from django.apps import AppConfig


class CryptoPredictConfig(AppConfig):
    name = "cryptopredict"
    verbose_name = "CryptoPredict"
