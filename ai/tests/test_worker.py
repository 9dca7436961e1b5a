"""A real Celery worker (a subprocess, solo pool) runs a job queued through Redis on the test database."""

from decimal import Decimal

import pytest

from ai import services
from cryptopredict.choices import JobStatus
from cryptopredict.testing.celery import wait_for
from macro.models import AIRegimeAnalysis
from macro.tests.factories import MetricsSnapshotFactory


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_prediction_job(celery_broker, settings, tmp_path):
    for day in range(40):
        MetricsSnapshotFactory(btc_price_usd=Decimal(30000 + 250 * day + (day % 7) * 400))
    model = services.model_register(name="worker rules", version="1", architecture="regime_rules")
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    celery_broker.worker(env={"MODEL_ARTIFACTS_DIR": str(tmp_path)})
    job = services.prediction_job_queue(model=model)  # autocommit: sent to Redis at once
    done = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
    wait_for(lambda: job.refresh_from_db() or job.status in done, 90, interval=0.5)
    output = celery_broker.log(tail=10**9)
    assert job.status == JobStatus.COMPLETED, f"job {job.status}: {job.error_message}\n{output[-3000:]}"
    assert job.task_id in output  # the worker, not this process, ran it
    assert job.attempts == 1 and job.predictions_count == 40 and job.started_at <= job.completed_at
    assert AIRegimeAnalysis.objects.filter(prediction_job=job).count() == 40
