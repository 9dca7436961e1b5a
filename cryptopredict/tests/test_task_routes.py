"""Every Celery task goes to its queue (ingest, ai, default)."""

import pytest
from django.conf import settings

from cryptopredict.celery import app

# Loading the tasks as a worker does runs Django's checks, which ask SQLite about its JSON support.
pytestmark = pytest.mark.django_db

# Fetching market data on ingest workers, model work on ai workers, the rest on default.
QUEUES = {
    "ai.run_prediction_job": "ai",
    "ai.run_training_job": "ai",
    "alerts.deliveries_dispatch": "default",
    "alerts.delivery_send": "default",
    "alerts.prune": "default",
    "alerts.stale_check": "default",
    "assets.create_partitions": "default",
    "assets.delete_asset": "default",
    "backoffice.history_prune": "default",
    "cryptopredict.refresh_aggregates": "default",
    "marketdata.build_snapshots": "default",
    "marketdata.compute_indicators": "default",
    "marketdata.daily_maintenance": "ingest",
    "marketdata.evaluate_alerts": "default",
    "marketdata.expire_signals": "default",
    "marketdata.run_predictions": "ai",
    "marketdata.sync_assets": "ingest",
    "marketdata.sync_candles": "ingest",
    "marketdata.sync_metrics": "ingest",
    "users.mail_send": "default",
    "users.prune": "default",
}


def project_tasks() -> set[str]:
    app.loader.import_default_modules()  # every installed app's tasks module, as a worker loads them
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_every_task_is_routed_to_its_queue():
    # A new task must be placed here: the set of tasks is compared too.
    assert project_tasks() == set(QUEUES)
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in QUEUES}
    assert routed == {name: settings.CELERY_QUEUE_PREFIX + queue for name, queue in QUEUES.items()}
