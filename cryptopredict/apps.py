from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CryptoPredictConfig(AppConfig):
    name = "cryptopredict"
    verbose_name = "CryptoPredict"
    default = True


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by the CryptoPredict back office site (cryptopredict.sites)."""

    default = False
    default_site = "cryptopredict.sites.BackOfficeSite"
