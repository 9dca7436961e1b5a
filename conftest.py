import pytest
from celery.result import _set_task_join_will_block
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


@pytest.fixture(autouse=True)
def _celery_joins_allowed():
    """Start every test outside any eager task, as far as Celery's `result.get()` guard knows.

    The guard is one process-wide flag that each eager task sets and restores on the way out; two
    threads running eager tasks at once (the concurrent-writer tests) can restore each other's
    value and leave it set, and a later test's `.get()` of an eager result would then refuse.
    """
    _set_task_join_will_block(False)
    yield


@pytest.fixture
def argon2(settings):
    """Hash passwords as production does (the project's PASSWORD_HASHERS, Argon2 first)."""
    from cryptopredict import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def _candle_partitions_dropped(request):
    """Drop the candle partitions a transactional test committed (an import makes its months'
    partitions), as its rows are flushed: the next test finds the partitions the migration made."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if not transactional or connection.vendor != "postgresql":
        yield
        return
    from assets.models import PriceData, PriceDataArchive
    from assets.selectors import candle_partitions
    from assets.services.partitions import month_forget

    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    models = (PriceData, PriceDataArchive)
    with blocker.unblock():
        before = {p.name for model in models for p in candle_partitions(model=model)}
    yield
    with blocker.unblock(), connection.cursor() as cursor:
        for model in models:
            for partition in candle_partitions(model=model):
                if partition.name not in before:
                    cursor.execute(f"DROP TABLE {partition.name}")
                    month_forget(model=model, month=partition.start)
