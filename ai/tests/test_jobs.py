"""The job lifecycle: every allowed and forbidden transition, cancel, retry, failures and checkpoints."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from ai import services
from ai.choices import ModelStatus, ModelType
from ai.models import AIModel, ModelPredictionJob, ModelTrainingJob
from ai.registry import artifact_load, register
from ai.tests.factories import AIModelFactory, ModelPredictionJobFactory, ModelTrainingJobFactory
from cryptopredict.choices import JobStatus

pytestmark = pytest.mark.django_db

STATUSES = list(JobStatus.values)
ALLOWED = {
    (JobStatus.PENDING, JobStatus.RUNNING),
    (JobStatus.PENDING, JobStatus.CANCELLED),
    (JobStatus.RUNNING, JobStatus.COMPLETED),
    (JobStatus.RUNNING, JobStatus.FAILED),
    (JobStatus.RUNNING, JobStatus.CANCELLED),
}
CALLS = []


@register("test_echo")
class Echo:
    """Trains to a small dict and predicts nothing; records the checkpoints' effect."""

    model_type = ModelType.MACRO
    trainable = True
    framework = "test"

    def fit(self, *, model, window):
        window.checkpoint(50)
        return {"weights": [1, 2, 3], "metrics": {"accuracy": 0.5}, "data_range": {"start": None}}

    def predict(self, *, model, job, scope):
        scope.checkpoint(50)
        scope.output["seen"] = scope.parameters
        return 7


@register("test_failing")
class Failing(Echo):
    def fit(self, *, model, window):
        raise ValueError("the data ran out")

    def predict(self, *, model, job, scope):
        raise ValueError("the data ran out")


@register("test_cancelled_meanwhile")
class CancelledMeanwhile(Echo):
    """Stands for an operator cancelling the job while the worker is busy."""

    def fit(self, *, model, window):
        job = ModelTrainingJob.objects.get(model=model, status=JobStatus.RUNNING)
        services.job_cancel(job=job)
        window.checkpoint(50)
        CALLS.append("after checkpoint")  # never reached
        return {}


WORKER_BUSY, CANCELLED = threading.Event(), threading.Event()


@register("test_waits_for_cancel")
class WaitsForCancel(Echo):
    """Works until an operator, on another connection, has cancelled the job."""

    def predict(self, *, model, job, scope):
        scope.checkpoint(10)
        WORKER_BUSY.set()
        CANCELLED.wait(10)
        scope.checkpoint(50)
        CALLS.append("after checkpoint")
        return 1


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    return tmp_path


def model_of(architecture: str) -> AIModel:
    return AIModelFactory(architecture=architecture, model_type=ModelType.MACRO)


@pytest.mark.parametrize("job_factory", [ModelTrainingJobFactory, ModelPredictionJobFactory])
@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_every_transition_is_allowed_or_refused(job_factory, source, target):
    job = job_factory(status=source, started_at=timezone.now() if source != JobStatus.PENDING else None)
    if (source, target) in ALLOWED:
        services.job_transition(job=job, to=target)
        job.refresh_from_db()
        assert job.status == target
        if target == JobStatus.RUNNING:
            assert job.started_at is not None
        if target in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            assert job.completed_at is not None
    else:
        with pytest.raises(services.JobTransitionError, match=f"cannot become {target}"):
            services.job_transition(job=job, to=target)
        job.refresh_from_db()
        assert job.status == source


def test_a_stale_copy_cannot_move_a_job_another_worker_moved():
    job = ModelTrainingJobFactory()
    other_worker_copy = ModelTrainingJob.objects.get(pk=job.pk)
    services.job_transition(job=job, to=JobStatus.RUNNING)
    with pytest.raises(services.JobTransitionError, match="is now running"):
        services.job_transition(job=other_worker_copy, to=JobStatus.RUNNING)


def test_queueing_runs_the_job_after_commit_in_process(django_capture_on_commit_callbacks):
    model = model_of("test_echo")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = services.training_job_queue(model=model, parameters={"depth": 2})
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.progress_percent, job.attempts) == (JobStatus.COMPLETED, 100, 1)
    assert job.task_id and job.started_at <= job.completed_at
    assert job.resulting_metrics == {"accuracy": 0.5}
    model.refresh_from_db()
    assert model.model_file_path == job.artifact_path and len(model.model_file_path) <= 100
    assert model.last_trained is not None and model.status == ModelStatus.INACTIVE
    assert artifact_load(model=model)["weights"] == [1, 2, 3]


def test_prediction_job_counts_rows_and_keeps_its_output():
    model = model_of("test_echo")
    job = services.prediction_job_queue(model=model, parameters={"watchlist": 3}, enqueue=False)
    job = services.prediction_job_execute(job_id=job.pk)
    assert (job.status, job.predictions_count) == (JobStatus.COMPLETED, 7)
    assert job.output == {"rows": 7, "seen": {"watchlist": 3}}
    model.refresh_from_db()
    assert model.prediction_count == 7 and model.last_prediction is not None


def test_a_failing_job_keeps_its_error_and_traceback():
    model = model_of("test_failing")
    job = services.training_job_queue(model=model, enqueue=False)
    job = services.training_job_execute(job_id=job.pk)
    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("ValueError: the data ran out")
    assert "Traceback" in job.error_message and "fit" in job.error_message
    assert job.completed_at >= job.started_at and job.attempts == 1
    model.refresh_from_db()
    assert model.status == ModelStatus.INACTIVE and not model.model_file_path


def test_cancelling_a_pending_job_stops_it_from_starting():
    job = services.training_job_queue(model=model_of("test_echo"), enqueue=False)
    services.job_cancel(job=job)
    assert services.training_job_execute(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.started_at, job.attempts) == (JobStatus.CANCELLED, None, 0)


def test_cancelling_a_running_training_job_stops_it_at_its_checkpoint():
    CALLS.clear()
    model = model_of("test_cancelled_meanwhile")
    job = services.training_job_queue(model=model, enqueue=False)
    job = services.training_job_execute(job_id=job.pk)
    assert job.status == JobStatus.CANCELLED and CALLS == []
    model.refresh_from_db()
    assert not model.model_file_path


@pytest.mark.postgres  # SQLite locks the whole database for a writer
@pytest.mark.django_db(transaction=True)
def test_a_prediction_cancelled_from_elsewhere_stops_at_its_checkpoint_and_writes_nothing():
    CALLS.clear()
    model = model_of("test_waits_for_cancel")
    job = services.prediction_job_queue(model=model, enqueue=False)

    def operator():
        WORKER_BUSY.wait(10)
        services.job_cancel(job=ModelPredictionJob.objects.get(pk=job.pk))
        connection.close()
        CANCELLED.set()

    thread = threading.Thread(target=operator)
    thread.start()
    job = services.prediction_job_execute(job_id=job.pk)
    thread.join(10)
    assert job.status == JobStatus.CANCELLED and job.predictions_count == 0 and CALLS == []
    assert job.progress_percent == 0  # the progress of the rolled-back run is not kept


def test_cancelling_a_finished_job_is_refused():
    job = ModelPredictionJobFactory(status=JobStatus.COMPLETED)
    with pytest.raises(services.JobTransitionError, match="completed: it cannot become cancelled"):
        services.job_cancel(job=job)


def test_retry_runs_a_failed_job_again_as_a_new_attempt(django_capture_on_commit_callbacks):
    model = model_of("test_failing")
    job = services.training_job_execute(job_id=services.training_job_queue(model=model, enqueue=False).pk)
    AIModel.objects.filter(pk=model.pk).update(architecture="test_echo")
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(job=job)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_message) == (JobStatus.COMPLETED, 2, None)


def test_retry_of_a_cancelled_job_queues_it_again():
    job = ModelPredictionJobFactory(status=JobStatus.CANCELLED, task_id="old")
    services.job_retry(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.task_id != "old"


def test_retry_of_a_completed_job_is_refused():
    with pytest.raises(services.JobTransitionError, match="queue a new job"):
        services.job_retry(job=ModelTrainingJobFactory(status=JobStatus.COMPLETED))


def test_a_running_job_is_retried_only_when_stale_or_forced():
    job = ModelTrainingJobFactory(status=JobStatus.RUNNING, started_at=timezone.now(), attempts=1)
    with pytest.raises(services.JobTransitionError, match="retry it with force"):
        services.job_retry(job=job)
    # A worker that died stops reporting progress: the job goes stale.
    ModelTrainingJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    job.refresh_from_db()
    assert services.job_is_stale(job=job)
    services.job_retry(job=job)
    job.refresh_from_db()
    assert (job.status, job.started_at, job.progress_percent) == (JobStatus.PENDING, None, 0)
    forced = ModelPredictionJobFactory(status=JobStatus.RUNNING, started_at=timezone.now())
    services.job_retry(job=forced, force=True)
    forced.refresh_from_db()
    assert forced.status == JobStatus.PENDING


def test_a_worker_only_starts_a_pending_job_once():
    job = services.training_job_queue(model=model_of("test_echo"), enqueue=False)
    assert services.training_job_execute(job_id=job.pk).status == JobStatus.COMPLETED
    assert services.training_job_execute(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_second_training_job_of_a_model_waits_while_one_runs():
    model = model_of("test_echo")
    ModelTrainingJobFactory(model=model, status=JobStatus.RUNNING, started_at=timezone.now())
    waiting = services.training_job_queue(model=model, enqueue=False)
    assert services.training_job_execute(job_id=waiting.pk) is None
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.PENDING


def test_unknown_architecture_is_refused_with_the_registered_names():
    with pytest.raises(ValidationError) as error:
        services.model_register(name="x", version="1", architecture="nope")
    assert "unknown architecture 'nope'" in str(error.value) and "regime_rules" in str(error.value)
    with pytest.raises(ValidationError, match="unknown architecture"):
        services.prediction_job_queue(model=AIModelFactory(architecture="nope"))


def test_register_checks_type_and_duplicates_and_rule_models_have_nothing_to_train():
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    assert (model.model_type, model.status, model.is_active) == (ModelType.MACRO, ModelStatus.INACTIVE, False)
    assert model.configuration["label_window"] == 30
    with pytest.raises(ValidationError, match="already exists"):
        services.model_register(name="rules", version="1", architecture="regime_rules")
    with pytest.raises(ValidationError, match="makes macro models"):
        services.model_register(
            name="r2", version="1", architecture="regime_rules", model_type=ModelType.TIMING
        )
    with pytest.raises(ValidationError, match="nothing to train"):
        services.training_job_queue(model=model)


def test_activate_swaps_the_active_model_of_a_name_and_deprecate_retires_it():
    first = services.model_register(name="rules", version="1", architecture="regime_rules")
    second = services.model_register(name="rules", version="2", architecture="regime_rules")
    services.model_activate(model=first)
    services.model_activate(model=second)
    first.refresh_from_db()
    assert not first.is_active and first.status == ModelStatus.INACTIVE
    assert second.is_active and second.status == ModelStatus.ACTIVE and second.deployed_at
    services.model_deprecate(model=second)
    assert (second.is_active, second.status) == (False, ModelStatus.DEPRECATED) and second.deprecated_at
    with pytest.raises(ValidationError, match="deprecated"):
        services.prediction_job_queue(model=second)
    with pytest.raises(ValidationError, match="deprecated"):
        services.model_activate(model=second)


def test_an_untrained_model_cannot_be_activated():
    with pytest.raises(ValidationError, match="has not been trained"):
        services.model_activate(model=model_of("test_echo"))


def test_bad_job_arguments_name_the_field():
    model = model_of("test_echo")
    with pytest.raises(ValidationError) as error:
        services.training_job_queue(model=model, parameters=["x"])
    assert "parameters" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.prediction_job_queue(model=model, timeframe="7d")
    assert "timeframe" in error.value.message_dict
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        services.training_job_queue(model=model, training_data_start=now, training_data_end=now)
    assert "training_data_end" in error.value.message_dict


def test_artifact_of_an_untrained_model_is_a_clear_error(artifacts):
    model = model_of("test_echo")
    with pytest.raises(ValidationError, match="has not been trained"):
        artifact_load(model=model)
    model.model_file_path = "model-1/missing.joblib"
    with pytest.raises(ValidationError, match="missing"):
        artifact_load(model=model)
    assert not Path(artifacts / "model-1").exists()


def test_a_worker_left_from_an_earlier_attempt_cannot_touch_the_retried_run():
    job = ModelPredictionJobFactory(status=JobStatus.PENDING)
    first_run = services._job_start(ModelPredictionJob, job.pk)  # a worker that will go stale
    services.job_retry(job=ModelPredictionJob.objects.get(pk=job.pk), force=True)
    second_run = services._job_start(ModelPredictionJob, job.pk)
    assert second_run.attempts == 2
    with pytest.raises(services.JobCancelled):
        services.job_checkpoint(job=first_run, percent=50)
    with pytest.raises(services.JobCancelled):
        services._job_complete(first_run, predictions_count=0, output={})
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 2)
