"""The admin actions on AI models and jobs call ai.services and report refusals per row."""

import pytest
from django.urls import reverse

from ai import services
from ai.models import ModelPredictionJob
from ai.tests.factories import ModelPredictionJobFactory
from cryptopredict.choices import JobStatus
from macro.models import AIRegimeAnalysis
from macro.tests.factories import MetricsSnapshotFactory
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = AdminUserFactory()
    client.force_login(user)
    client.user = user
    return client


def act(client, url_name: str, action: str, *rows):
    return (
        client.post(
            reverse(url_name), {"action": action, "_selected_action": [row.pk for row in rows]}, follow=True
        )
        .content.decode()
        .lower()
    )


def test_model_actions_queue_jobs_and_report_refusals(admin_client, django_capture_on_commit_callbacks):
    for _ in range(15):
        MetricsSnapshotFactory()
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    with django_capture_on_commit_callbacks(execute=True):
        page = act(admin_client, "admin:ai_aimodel_changelist", "run_predictions", model)
    job = ModelPredictionJob.objects.get(model=model)
    assert "predictions queued" in page
    assert job.status == JobStatus.COMPLETED and job.requested_by == admin_client.user
    assert AIRegimeAnalysis.objects.filter(prediction_job=job).count() == 15
    page = act(admin_client, "admin:ai_aimodel_changelist", "queue_training", model)
    assert "rule-based: nothing to train" in page
    act(admin_client, "admin:ai_aimodel_changelist", "activate", model)
    model.refresh_from_db()
    assert model.is_active


def test_job_actions_cancel_and_retry(admin_client):
    pending, finished = ModelPredictionJobFactory(), ModelPredictionJobFactory(status=JobStatus.COMPLETED)
    page = act(admin_client, "admin:ai_modelpredictionjob_changelist", "cancel_jobs", pending, finished)
    pending.refresh_from_db()
    assert pending.status == JobStatus.CANCELLED and "cannot become cancelled" in page
    act(admin_client, "admin:ai_modelpredictionjob_changelist", "retry_jobs", pending)
    pending.refresh_from_db()
    assert pending.status == JobStatus.PENDING
