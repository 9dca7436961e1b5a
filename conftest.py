import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

# The worker tests' broker and Celery processes (fixture celery_broker).
pytest_plugins = ["cryptopredict.testing.celery"]

# Argon2 is slow on purpose; the suite hashes with MD5, except the tests that use `argon2` below.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    # The alerts tests' webhook receivers listen on 127.0.0.1 (test_webhook_ssrf turns this off).
    settings.WEBHOOK_ALLOW_LOOPBACK = True


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `postgres` when the suite runs on another database."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL, running on {connection.vendor}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Start every test with an empty cache: throttle counters must not leak between tests."""
    cache.clear()
    yield


@pytest.fixture
def argon2(settings):
    """Hash passwords as production does (the project's PASSWORD_HASHERS, Argon2 first)."""
    from cryptopredict import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
