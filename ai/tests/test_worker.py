"""A real Celery worker (a subprocess, solo pool) runs a job queued through Redis on the test database."""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from ai import services
from cryptopredict.celery import app
from cryptopredict.choices import JobStatus
from macro.models import AIRegimeAnalysis
from macro.tests.factories import MetricsSnapshotFactory

BROKER = "redis://127.0.0.1:6379/15"


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(tmp_path, settings):
    """Point this process's Celery app at Redis on a queue of its own; restore it afterwards."""
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {BROKER}")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    keys = ("broker_url", "task_always_eager", "task_default_queue", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    # Every task to this test's queue: the ai/ingest routes would send it where no test worker listens.
    app.conf.update(broker_url=BROKER, task_always_eager=False, task_default_queue=queue, task_routes={})
    reset_connections()
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    yield queue
    app.conf.update(saved)
    reset_connections()


def reset_connections():
    """Drop what the app caches from its configuration: queues and routes (amqp) and the broker pool."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_prediction_job(broker, tmp_path):
    for day in range(40):
        MetricsSnapshotFactory(btc_price_usd=Decimal(30000 + 250 * day + (day % 7) * 400))
    model = services.model_register(name="worker rules", version="1", architecture="regime_rules")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "MODEL_ARTIFACTS_DIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cryptopredict", "worker", "--pool=solo", "-Q", broker,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        job = services.prediction_job_queue(model=model)  # autocommit: sent to Redis at once
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()
    output = (tmp_path / "worker.log").read_text()
    assert job.status == JobStatus.COMPLETED, f"job {job.status}: {job.error_message}\n{output[-3000:]}"
    assert job.task_id in output  # the worker, not this process, ran it
    assert job.attempts == 1 and job.predictions_count == 40 and job.started_at <= job.completed_at
    assert AIRegimeAnalysis.objects.filter(prediction_job=job).count() == 40
