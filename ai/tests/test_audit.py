"""The AI services record their own writes: the same change through the API, an admin action or
form, or a command leaves exactly one audit row, with the actor and the channel it came through."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ai import services
from ai.models import AIModel, ModelTrainingJob
from ai.registry import architecture_get, architecture_names
from ai.tests.factories import AIModelFactory, ModelTrainingJobFactory
from cryptopredict.choices import ActivityAction, ActivityType, JobStatus
from users.models import UserActivity
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db

DOORS = ["api", "admin", "command"]
CHANNEL = {"api": ActivityType.API, "admin": ActivityType.ADMIN, "command": ActivityType.SYSTEM}


def rule_based() -> str:
    return next(name for name in architecture_names() if not architecture_get(name).trainable)


def trainable() -> str:
    return next(name for name in architecture_names() if architecture_get(name).trainable)


def through(door: str, user, *, api: str, admin: tuple[str, str], command: list, row):
    """Make one change through `door`: POST the API action, run the admin action, or the command."""
    if door == "api":
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(reverse(api, kwargs={"pk": row.pk}))
        assert response.status_code == 200, response.data
    elif door == "admin":
        client = Client()
        client.force_login(user)
        changelist, action = admin
        response = client.post(reverse(changelist), {"action": action, "_selected_action": [row.pk]})
        assert response.status_code == 302
    else:
        call_command(*command)


def the_row(row, action: str) -> UserActivity:
    """Return the one audit row of `action` on `row` (failing on none or several)."""
    rows = UserActivity.objects.filter(entity_type=row._meta.label_lower, entity_id=row.pk, action=action)
    assert rows.count() == 1, list(rows.values("activity_type", "action", "user"))
    return rows.get()


@pytest.mark.parametrize("door", DOORS)
def test_a_job_cancel_leaves_one_row_naming_who_and_through_what(door):
    user, job = AdminUserFactory(), ModelTrainingJobFactory()
    through(
        door,
        user,
        api="api:modeltrainingjob-cancel",
        admin=("admin:ai_modeltrainingjob_changelist", "cancel_jobs"),
        command=["cancel_job", str(job.pk), "--kind", "training"],
        row=job,
    )
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    row = the_row(job, ActivityAction.UPDATE)
    assert (row.activity_type, row.user) == (CHANNEL[door], None if door == "command" else user)
    assert row.details == {"changed_fields": ["status"], "status": "cancelled"}
    assert UserActivity.objects.count() == 1


@pytest.mark.parametrize("door", DOORS)
def test_a_job_retry_leaves_one_row(door):
    user, job = AdminUserFactory(), ModelTrainingJobFactory(status=JobStatus.FAILED)
    through(
        door,
        user,
        api="api:modeltrainingjob-retry",
        admin=("admin:ai_modeltrainingjob_changelist", "retry_jobs"),
        command=["retry_job", str(job.pk), "--kind", "training"],
        row=job,
    )
    row = the_row(job, ActivityAction.UPDATE)
    assert (row.activity_type, row.user, row.details["status"]) == (
        CHANNEL[door],
        None if door == "command" else user,
        JobStatus.PENDING,
    )
    assert UserActivity.objects.count() == 1


@pytest.mark.parametrize("door", DOORS)
def test_a_model_activation_leaves_one_row(door):
    user = AdminUserFactory()
    model = AIModelFactory(architecture=rule_based(), model_type=architecture_get(rule_based()).model_type)
    if door == "command":
        model.delete()  # register_model --activate registers and activates in one run
        call_command("register_model", "audited", "1", rule_based(), "--activate")
        model = AIModel.objects.get(name="audited")
        assert the_row(model, ActivityAction.CREATE).user is None
    else:
        through(
            door,
            user,
            api="api:aimodel-activate",
            admin=("admin:ai_aimodel_changelist", "activate"),
            command=[],
            row=model,
        )
    model.refresh_from_db()
    assert model.is_active
    row = the_row(model, ActivityAction.UPDATE)
    assert (row.activity_type, row.user) == (CHANNEL[door], None if door == "command" else user)
    assert row.details == {"changed_fields": ["is_active", "status"], "status": "active"}


def test_a_job_queued_in_the_admin_add_form_is_recorded_once_by_the_service(client):
    user = AdminUserFactory()
    client.force_login(user)
    model = AIModelFactory(architecture=trainable())
    response = client.post(
        reverse("admin:ai_modeltrainingjob_add"), {"model": model.pk, "parameters": "{}", "timeframe": "1d"}
    )
    assert response.status_code == 302
    job = ModelTrainingJob.objects.get()
    row = UserActivity.objects.get()  # the admin's own log_addition records nothing more
    assert (row.action, row.entity_id, row.activity_type, row.user) == (
        ActivityAction.CREATE,
        job.pk,
        ActivityType.ADMIN,
        user,
    )


def test_a_job_queued_through_the_api_is_recorded_once_with_the_request():
    user = AdminUserFactory()
    client = APIClient(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="audit-test")
    client.force_authenticate(user)
    model = AIModelFactory(architecture=trainable())
    data = {"model": model.pk, "parameters": {"epochs": 2}}
    response = client.post(reverse("api:modeltrainingjob-list"), data, format="json")
    assert response.status_code == 201, response.data
    row = UserActivity.objects.get()
    assert (row.entity_id, row.user, row.activity_type) == (response.data["id"], user, ActivityType.API)
    assert (row.ip_address, row.user_agent) == ("10.1.2.3", "audit-test")
    assert {"model", "parameters", "timeframe"} <= set(row.details["changed_fields"])


def test_the_audit_row_commits_with_the_change_or_not_at_all():
    job = ModelTrainingJobFactory()
    failing = mock.patch("users.services.audit.UserActivity.objects.create", side_effect=RuntimeError("full"))
    with failing, pytest.raises(RuntimeError):
        services.job_cancel(job=job, actor=AdminUserFactory())
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING  # the cancel rolled back with its record


def test_a_refused_move_records_nothing():
    job = ModelTrainingJobFactory(status=JobStatus.COMPLETED)
    with pytest.raises(services.JobTransitionError):
        services.job_cancel(job=job, actor=AdminUserFactory())
    assert not UserActivity.objects.exists()


def test_the_api_registers_every_given_field_through_the_service():
    user = AdminUserFactory()
    client = APIClient()
    client.force_authenticate(user)
    data = {"name": "described", "version": "1", "architecture": rule_based(), "model_size_mb": "1.50"}
    data |= {"deployment_environment": "staging", "max_predictions_per_hour": 7}
    response = client.post(reverse("api:aimodel-list"), data, format="json")
    assert response.status_code == 201, response.data
    model = AIModel.objects.get(name="described")
    assert (str(model.model_size_mb), model.deployment_environment, model.max_predictions_per_hour) == (
        "1.50",
        "staging",
        7,
    )
    row = the_row(model, ActivityAction.CREATE)
    assert row.user == user and set(data) <= set(row.details["changed_fields"])


def test_a_request_that_fails_leaves_no_channel_behind_for_a_command():
    user, job = AdminUserFactory(), ModelTrainingJobFactory()
    client = APIClient()
    client.force_authenticate(user)
    url = reverse("api:modeltrainingjob-cancel", kwargs={"pk": job.pk})
    with (
        mock.patch.object(services, "job_cancel", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        client.post(url)  # a 500 the test client raises: DRF never finalizes the response
    call_command("cancel_job", str(job.pk), "--kind", "training")
    row = the_row(job, ActivityAction.UPDATE)
    assert (row.activity_type, row.user) == (ActivityType.SYSTEM, None)
