"""The admin's job add form checks through ai.services and writes nothing; its save queues the job.
A model registers in one INSERT, whatever the API gives."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from ai import services
from ai.choices import ModelType
from ai.models import AIModel, ModelTrainingJob
from ai.registry import register
from cryptopredict.choices import JobStatus
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db


@register("admin_test_trainable")
class TrainableForAdminTests:
    model_type = ModelType.MACRO
    trainable = True

    def fit(self, *, model, window):
        return {}

    def predict(self, *, model, job, scope) -> int:
        return 0


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


@pytest.fixture
def staff(rf):
    request = rf.get("/")
    request.user = AdminUserFactory()
    return request


def test_the_add_form_validates_without_writing(staff):
    trainable = services.model_register(name="t", version="1", architecture="admin_test_trainable")
    rules = services.model_register(name="r", version="1", architecture="regime_rules")
    form_class = admin.site._registry[ModelTrainingJob].get_form(staff)
    for model, valid in ((trainable, True), (rules, False)):
        form = form_class(data={"model": model.pk, "timeframe": "1d", "parameters": "{}"})
        with CaptureQueriesContext(connection) as queries:
            assert form.is_valid() is valid
        assert _writes(queries) == []
    assert "rule-based: nothing to train" in str(form.errors["model"])
    assert not ModelTrainingJob.objects.exists()


def test_the_add_view_queues_the_job_in_its_save(client, django_capture_on_commit_callbacks):
    user = AdminUserFactory()
    client.force_login(user)
    model = services.model_register(name="t", version="1", architecture="admin_test_trainable")
    data = {"model": model.pk, "timeframe": "1h", "parameters": '{"epochs": 2}'}
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(reverse("admin:ai_modeltrainingjob_add"), data)
    assert response.status_code == 302
    job = ModelTrainingJob.objects.get()
    assert (job.model, job.timeframe, job.parameters) == (model, "1h", {"epochs": 2})
    assert job.status == JobStatus.PENDING and job.requested_by == user and job.task_id
    assert len(sent) == 1  # the job's task, sent once the add commits
    refused = client.post(reverse("admin:ai_modeltrainingjob_add"), {**data, "timeframe": "2d"})
    assert refused.status_code == 200 and ModelTrainingJob.objects.count() == 1


def test_model_register_writes_one_insert_with_its_details():
    with CaptureQueriesContext(connection) as queries:
        model = services.model_register(
            name="m",
            version="1",
            architecture="admin_test_trainable",
            input_schema={"close": "float"},
            max_predictions_per_hour=5,
        )
    writes = [sql for sql in _writes(queries) if '"ai_models"' in sql]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "ai_models"')
    model.refresh_from_db()
    assert (model.input_schema, model.max_predictions_per_hour) == ({"close": "float"}, 5)
    with pytest.raises(TypeError, match="does not set status"):
        services.model_register(name="m", version="2", architecture="admin_test_trainable", status="active")


def test_the_api_registers_in_one_insert():
    client = APIClient()
    client.force_authenticate(AdminUserFactory())
    body = {
        "name": "api",
        "version": "1",
        "architecture": "admin_test_trainable",
        "output_schema": {"regime": "str"},
        "deployment_environment": "staging",
    }
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/ai-models/", body, format="json")
    assert response.status_code == 201, response.data
    writes = [sql for sql in _writes(queries) if '"ai_models"' in sql]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "ai_models"')
    stored = AIModel.objects.get(pk=response.data["id"])
    assert (stored.output_schema, stored.deployment_environment) == ({"regime": "str"}, "staging")
