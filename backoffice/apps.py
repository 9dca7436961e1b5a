from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackOfficeConfig(AppConfig):
    """The analyst's back office: the admin site, its dashboard and the charts across the layers.

    It sits at the top with `demo`: its views read every app's selectors, and no app imports it.
    """

    name = "backoffice"
    verbose_name = "Back office"
    default = True


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin, served by the CryptoPredict back office site (backoffice.sites)."""

    default = False
    default_site = "backoffice.sites.BackOfficeSite"
