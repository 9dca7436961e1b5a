from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _aggregates_refresh(*, using, **kwargs) -> None:
    """Refresh the aggregate views after `migrate` and `flush` (the tests' too): their rows may be gone."""
    from .aggregates import aggregates_refresh

    if using == "default":
        aggregates_refresh()


class CryptoPredictConfig(AppConfig):
    name = "cryptopredict"
    verbose_name = "CryptoPredict"

    def ready(self):
        from . import checks  # noqa: F401 - registers the project's system checks

        post_migrate.connect(_aggregates_refresh, sender=self)
