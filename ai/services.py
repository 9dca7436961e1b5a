"""The AI lifecycle: model registration and activation, and the jobs that train and run models.

A job's status moves pending -> running -> completed | failed | cancelled and no other way; every
move is a conditional UPDATE (`filter(pk=..., status=<expected>)`) so that two workers can never
both start, finish or cancel the same job. The one way back is `job_retry`, which returns a
failed, cancelled or stale running job to pending and queues it again (a new attempt).

Cancelling a pending job stops it from starting (a worker only starts a job that is still
pending). Cancelling a running job takes effect at the job's next checkpoint: the worker reports
progress with a conditional UPDATE that also finds out the job is no longer running. A prediction
job writes its rows and completes in one transaction, so a cancelled one leaves no rows behind;
its checkpoints inside that transaction only read the status, so its progress shows when it
completes (predictions take seconds); training reports progress live. True concurrency needs
PostgreSQL: SQLite, the embedded default, runs jobs in-process one at a time.

The services a person calls (register, activate, deprecate, queue, cancel, retry) take `actor=`,
the User who asked (None: a command, a task or the demo; a queued job's actor is its
`requested_by`), and record the change in the audit trail in their transaction.
"""

import logging
import time
import traceback
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cryptopredict.audit import activity_record
from cryptopredict.choices import ActivityAction, JobStatus, Timeframe
from cryptopredict.timeframes import UnknownTimeframe, timeframe_check

from .choices import ModelStatus
from .models import AIModel, ModelPredictionJob, ModelTrainingJob
from .registry import (
    PredictionScope,
    TrainingWindow,
    architecture_get,
    artifact_relative_path,
    artifact_save,
)
from .signals import job_failed

logger = logging.getLogger(__name__)

Job = ModelTrainingJob | ModelPredictionJob

# The lifecycle: the statuses each status may move to. Terminal statuses move nowhere.
TRANSITIONS = {
    JobStatus.PENDING: {JobStatus.RUNNING, JobStatus.CANCELLED},
    JobStatus.RUNNING: {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED},
}
# A running job whose last checkpoint is older than this is taken for one whose worker died.
STALE_AFTER = timedelta(minutes=getattr(settings, "AI_JOB_STALE_MINUTES", 30))
ERROR_MESSAGE_CHARS = 4000


class JobTransitionError(ValidationError):
    """A job was asked to move to a status its lifecycle forbids."""


class JobCancelled(Exception):
    """The job stopped being running while it worked (cancelled, or reset by a forced retry)."""


def _label(job: Job) -> str:
    return f"{'training' if isinstance(job, ModelTrainingJob) else 'prediction'} job #{job.pk}"


# Models -----------------------------------------------------------------------------------------


# What a registration may describe besides its identity and architecture; the lifecycle columns
# (status, activation, training results, prediction counters) are kept by the services below.
MODEL_DETAILS = (
    "performance_metrics",
    "training_data_range",
    "input_schema",
    "output_schema",
    "health_status",
    "framework",
    "deployment_environment",
    "model_size_mb",
    "training_duration_minutes",
    "max_predictions_per_hour",
    "requires_manual_approval",
)


def model_register(
    *,
    name: str,
    version: str,
    architecture: str,
    model_type: str | None = None,
    training_data_timeframe: str = Timeframe.D1,
    target_variable: str = "",
    configuration: dict | None = None,
    training_features: dict | None = None,
    min_confidence_threshold: Decimal | float = Decimal("0.5"),
    training_notes: str | None = None,
    actor=None,
    **details,
) -> AIModel:
    """Create an inactive AIModel for a registered architecture, in one INSERT, and return it.

    `details` are the descriptive columns of MODEL_DETAILS (schemas, framework, limits...).
    """
    if unknown := sorted(set(details) - set(MODEL_DETAILS)):
        raise TypeError(f"model_register() does not set {', '.join(unknown)}")
    arch = architecture_get(architecture)
    model_type = model_type or arch.model_type
    if model_type != arch.model_type:
        raise ValidationError(
            {"model_type": f"architecture {architecture!r} makes {arch.model_type} models, not {model_type}"}
        )
    try:
        timeframe_check(training_data_timeframe)
    except UnknownTimeframe as exc:
        raise ValidationError({"training_data_timeframe": str(exc)}) from None
    if configuration is not None and not isinstance(configuration, dict):
        raise ValidationError({"configuration": "must be a JSON object"})
    defaults = getattr(arch, "default_configuration", {})
    if unknown := sorted(set(configuration or {}) - set(defaults)):
        raise ValidationError(
            {"configuration": f"unknown keys {unknown}; {architecture!r} takes {sorted(defaults) or 'none'}"}
        )
    if AIModel.objects.filter(name=name, version=version).exists():
        raise ValidationError({"version": f"model {name!r} version {version!r} already exists"})
    model = AIModel(
        name=name,
        version=version,
        architecture=architecture,
        model_type=model_type,
        training_data_timeframe=training_data_timeframe,
        target_variable=target_variable or getattr(arch, "target_variable", ""),
        configuration={**defaults, **(configuration or {})},
        training_features=training_features or {"features": list(getattr(arch, "features", []))},
        min_confidence_threshold=Decimal(str(min_confidence_threshold)),
        training_notes=training_notes,
        status=ModelStatus.INACTIVE,
        **{"framework": getattr(arch, "framework", None), **details},
    )
    # An empty or too long name or version is refused here, not by the database; an architecture
    # may name no target variable.
    model.full_clean(exclude=["target_variable"])
    with transaction.atomic():
        model.save()
        _record(actor, ActivityAction.CREATE, model, changed=_filled(model))
    return model


def _filled(row) -> list[str]:
    """Return the names of the columns a new row was given a value in (its record's changed fields)."""
    return [
        field.name
        for field in row._meta.concrete_fields
        if not field.primary_key and field.value_from_object(row) not in (None, "", {}, [])
    ]


def _record(actor, action: str, row, *, changed, **details) -> None:
    """Append `actor`'s `action` on `row` to the audit trail (inside the caller's transaction)."""
    activity_record(
        actor=actor, action=action, entity=row, details={"changed_fields": sorted(changed), **details}
    )


def model_activate(*, model: AIModel, actor=None) -> AIModel:
    """Make `model` the active one of its name and type, deactivating the one active before it."""
    if model.deprecated_at is not None:
        raise ValidationError(f"model {model} is deprecated and cannot be activated")
    if architecture_get(model.architecture).trainable and not model.model_file_path:
        raise ValidationError(f"model {model} has not been trained yet: train it before activating it")
    now = timezone.now()
    with transaction.atomic():
        # The other active model goes first, so the partial unique index (name, type) holds throughout.
        AIModel.objects.filter(name=model.name, model_type=model.model_type, is_active=True).exclude(
            pk=model.pk
        ).update(is_active=False, status=ModelStatus.INACTIVE, updated_at=now)
        AIModel.objects.filter(pk=model.pk).update(
            is_active=True, status=ModelStatus.ACTIVE, deployed_at=now, updated_at=now
        )
        model.refresh_from_db()
        _record(actor, ActivityAction.UPDATE, model, changed=["is_active", "status"], status=model.status)
    return model


def model_deprecate(*, model: AIModel, actor=None) -> AIModel:
    """Retire `model`: inactive, status deprecated, deprecated_at now."""
    now = timezone.now()
    with transaction.atomic():
        AIModel.objects.filter(pk=model.pk).update(
            is_active=False, status=ModelStatus.DEPRECATED, deprecated_at=now, updated_at=now
        )
        model.refresh_from_db()
        _record(actor, ActivityAction.UPDATE, model, changed=["is_active", "status"], status=model.status)
    return model


def model_active(*, model_type: str) -> AIModel | None:
    """Return the most recently deployed active model of `model_type`, or None."""
    return (
        AIModel.objects.filter(model_type=model_type, is_active=True)
        .order_by(F("deployed_at").desc(nulls_last=True), "-pk")
        .first()
    )


# Queueing ----------------------------------------------------------------------------------------


def _check_model_usable(model: AIModel):
    if model.deprecated_at is not None or model.status == ModelStatus.DEPRECATED:
        raise ValidationError({"model": f"model {model} is deprecated"})
    return architecture_get(model.architecture)


def _check_parameters(parameters) -> dict:
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise ValidationError({"parameters": "must be a JSON object"})
    return parameters


def _check_timeframe(timeframe: str | None, default: str) -> str:
    try:
        return timeframe_check(timeframe or default)
    except UnknownTimeframe as exc:
        raise ValidationError({"timeframe": str(exc)}) from None


def _enqueue(job: Job, *, send: bool = True) -> Job:
    """Give `job` a fresh task id and send it to the queue once the current transaction commits.

    With `send` off the job only waits, pending, for the caller to run it in-process.
    """
    if not send:
        return job
    from . import tasks  # tasks import this module

    task = tasks.run_training_job if isinstance(job, ModelTrainingJob) else tasks.run_prediction_job
    task_id = str(uuid.uuid4())
    type(job).objects.filter(pk=job.pk).update(task_id=task_id)
    job.task_id = task_id
    job_id = job.pk
    transaction.on_commit(lambda: task.apply_async(args=[job_id], task_id=task_id))
    return job


def training_job_queue(
    *,
    model: AIModel,
    requested_by=None,
    parameters: dict | None = None,
    timeframe: str | None = None,
    training_data_start: datetime | None = None,
    training_data_end: datetime | None = None,
    enqueue: bool = True,
) -> ModelTrainingJob:
    """Create a pending training job for `model` and queue it (unless `enqueue` is off); return the job."""
    values = training_job_check(
        model=model,
        parameters=parameters,
        timeframe=timeframe,
        training_data_start=training_data_start,
        training_data_end=training_data_end,
    )
    with transaction.atomic():
        job = ModelTrainingJob.objects.create(requested_by=requested_by, **values)
        _record(requested_by, ActivityAction.CREATE, job, changed=_filled(job))
        return _enqueue(job, send=enqueue)


def training_job_check(
    *,
    model: AIModel,
    parameters: dict | None = None,
    timeframe: str | None = None,
    training_data_start: datetime | None = None,
    training_data_end: datetime | None = None,
) -> dict:
    """Return the columns of a training job for `model`, or raise a ValidationError naming the field.

    Writes nothing: the admin's add form checks with it, then queues in its save.
    """
    arch = _check_model_usable(model)
    if not arch.trainable:
        raise ValidationError(
            {"model": f"architecture {model.architecture!r} is rule-based: nothing to train"}
        )
    if training_data_start and training_data_end and training_data_end <= training_data_start:
        raise ValidationError({"training_data_end": "must be after training_data_start"})
    return {
        "model": model,
        "parameters": _check_parameters(parameters),
        "timeframe": _check_timeframe(timeframe, model.training_data_timeframe),
        "training_data_start": training_data_start,
        "training_data_end": training_data_end,
    }


def prediction_job_queue(
    *,
    model: AIModel,
    requested_by=None,
    asset=None,
    sector=None,
    timeframe: str | None = None,
    parameters: dict | None = None,
    enqueue: bool = True,
) -> ModelPredictionJob:
    """Create a pending prediction job for `model` over the given scope and queue it; return the job.

    `parameters` may carry `{"watchlist": id}` or `{"portfolio": id}` for layer-3 models. With
    `enqueue` off the job stays pending for the caller to run with `prediction_job_execute`.
    """
    values = prediction_job_check(
        model=model, asset=asset, sector=sector, timeframe=timeframe, parameters=parameters
    )
    with transaction.atomic():
        job = ModelPredictionJob.objects.create(requested_by=requested_by, **values)
        _record(requested_by, ActivityAction.CREATE, job, changed=_filled(job))
        return _enqueue(job, send=enqueue)


def prediction_job_check(
    *, model: AIModel, asset=None, sector=None, timeframe: str | None = None, parameters: dict | None = None
) -> dict:
    """Return the columns of a prediction job for `model`, or raise a ValidationError naming the field.

    Writes nothing: the admin's add form checks with it, then queues in its save.
    """
    arch = _check_model_usable(model)
    parameters = _check_parameters(parameters)
    timeframe = _check_timeframe(timeframe, model.training_data_timeframe)
    validate = getattr(arch, "parameters_validate", None)
    if validate is not None:
        validate(parameters=parameters, asset=asset, sector=sector)
    return dict(model=model, asset=asset, sector=sector, timeframe=timeframe, parameters=parameters)


# The state machine --------------------------------------------------------------------------------


def job_transition(*, job: Job, to: str, **fields) -> Job:
    """Move `job` to status `to` if its lifecycle allows it; raise JobTransitionError otherwise."""
    if to not in TRANSITIONS.get(job.status, set()):
        raise JobTransitionError(f"{_label(job)} is {job.status}: it cannot become {to}", code="transition")
    now = timezone.now()
    fields.setdefault("updated_at", now)
    if to == JobStatus.RUNNING:
        fields.setdefault("started_at", now)
    if to in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        fields.setdefault("completed_at", now)
    # The attempt is part of the match: a worker still holding an earlier run of a retried job
    # must not move (or complete) the new run.
    moved = (
        type(job)
        .objects.filter(pk=job.pk, status=job.status, attempts=job.attempts)
        .update(status=to, **fields)
    )
    if not moved:
        current = type(job).objects.filter(pk=job.pk).values_list("status", flat=True).first()
        raise JobTransitionError(
            f"{_label(job)} is now {current or 'gone'}: it cannot become {to}", code="transition"
        )
    job.refresh_from_db()
    return job


def job_cancel(*, job: Job, actor=None) -> Job:
    """Cancel a pending or running job (a running one stops at its next checkpoint)."""
    with transaction.atomic():
        job = job_transition(job=job, to=JobStatus.CANCELLED)
        _record(actor, ActivityAction.UPDATE, job, changed=["status"], status=job.status)
    return job


def job_is_stale(*, job: Job) -> bool:
    """Return True when a running job has not reported progress for STALE_AFTER (its worker died)."""
    return job.status == JobStatus.RUNNING and job.updated_at < timezone.now() - STALE_AFTER


def job_retry(*, job: Job, force: bool = False, actor=None) -> Job:
    """Return a failed, cancelled or stale running job to pending and queue it again.

    A pending job is only sent to the queue again (its message may have been lost). A running job
    is taken back only when it is stale or `force` is given (the operator knows its worker died).
    """
    if job.status == JobStatus.COMPLETED:
        raise JobTransitionError(f"{_label(job)} is completed: queue a new job instead", code="transition")
    if job.status == JobStatus.RUNNING and not (force or job_is_stale(job=job)):
        raise JobTransitionError(
            f"{_label(job)} is running and reported progress at {job.updated_at:%Y-%m-%d %H:%M:%S}; "
            "retry it with force only if its worker is gone",
            code="transition",
        )
    with transaction.atomic():
        if job.status != JobStatus.PENDING:
            moved = (
                type(job)
                .objects.filter(pk=job.pk, status=job.status)
                .update(
                    status=JobStatus.PENDING,
                    started_at=None,
                    completed_at=None,
                    progress_percent=0,
                    updated_at=timezone.now(),
                )
            )
            if not moved:
                raise JobTransitionError(
                    f"{_label(job)} changed status meanwhile: try again", code="transition"
                )
            job.refresh_from_db()
        _record(actor, ActivityAction.UPDATE, job, changed=["status"], status=job.status)
        return _enqueue(job)


def _job_start(job_class: type[Job], job_id: int) -> Job | None:
    """Move a pending job to running (attempts + 1) and return it; None if it is not pending."""
    now = timezone.now()
    try:
        with transaction.atomic():
            started = job_class.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
                status=JobStatus.RUNNING,
                started_at=now,
                completed_at=None,
                progress_percent=0,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
    except IntegrityError:
        # Another training job of the same model is running: this one stays pending for a retry.
        logger.warning("training job %s not started: another job of its model is running", job_id)
        return None
    if not started:
        logger.info("job %s of %s not started: it is not pending", job_id, job_class.__name__)
        return None
    return job_class.objects.select_related("model").get(pk=job_id)


def job_checkpoint(*, job: Job, percent: int, record: bool = True) -> None:
    """Record progress; raise JobCancelled if the job is no longer running.

    With `record` off (inside a prediction's transaction) it only reads the status: an UPDATE
    there would lock the job's row until the commit and hold off a cancel until the very end.
    """
    percent = max(0, min(100, int(percent)))
    if not record:
        status, attempts = type(job).objects.filter(pk=job.pk).values_list("status", "attempts").first()
        if status != JobStatus.RUNNING or attempts != job.attempts:
            raise JobCancelled(f"{_label(job)} stopped at {percent}%: it is {status} (attempt {attempts})")
        return
    moved = (
        type(job)
        .objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)
        .update(progress_percent=percent, updated_at=timezone.now())
    )
    if not moved:
        raise JobCancelled(f"{_label(job)} stopped at {percent}%: it is no longer running")
    job.progress_percent = percent


def _job_complete(job: Job, **fields) -> None:
    """Move a running job to completed inside the caller's transaction; JobCancelled if it is not running."""
    try:
        job_transition(job=job, to=JobStatus.COMPLETED, progress_percent=100, error_message=None, **fields)
    except JobTransitionError as exc:
        raise JobCancelled(exc.message) from exc


def _job_fail(job: Job, exc: BaseException) -> None:
    """Move a running job to failed, keeping the error and a summary of its traceback."""
    lines = traceback.format_exception(exc)
    summary = f"{type(exc).__name__}: {exc}\n" + "".join(lines)[-ERROR_MESSAGE_CHARS:]
    now = timezone.now()
    failed = (
        type(job)
        .objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)
        .update(status=JobStatus.FAILED, completed_at=now, updated_at=now, error_message=summary)
    )
    logger.warning("%s failed: %s", _label(job), exc)
    if failed:
        job.status, job.completed_at, job.error_message = JobStatus.FAILED, now, summary
        # Robust: a listener's error must not hide the job's own.
        for receiver, error in job_failed.send_robust(sender=type(job), job=job):
            if isinstance(error, Exception):
                logger.error("job_failed receiver %r raised: %r", receiver, error)


# Running ------------------------------------------------------------------------------------------


def training_job_execute(*, job_id: int) -> ModelTrainingJob | None:
    """Run a pending training job to its end (the Celery task's body); return the job, or None."""
    job = _job_start(ModelTrainingJob, job_id)
    if job is None:
        return None
    model = job.model
    # The status to return to if training does not finish (a dead worker may have left TRAINING).
    previous_status = model.status
    if previous_status == ModelStatus.TRAINING:
        previous_status = ModelStatus.ACTIVE if model.is_active else ModelStatus.INACTIVE
    AIModel.objects.filter(pk=model.pk).update(status=ModelStatus.TRAINING)
    began = time.monotonic()
    try:
        arch = architecture_get(model.architecture)
        window = TrainingWindow(
            timeframe=job.timeframe or model.training_data_timeframe,
            start=job.training_data_start,
            end=job.training_data_end,
            parameters=job.parameters,
            checkpoint=lambda percent: job_checkpoint(job=job, percent=percent),
        )
        artifact = arch.fit(model=model, window=window)
        job_checkpoint(job=job, percent=95)
        relative = artifact_relative_path(model=model, job_id=job.pk)
        path = artifact_save(relative_path=relative, artifact=artifact)
        metrics = artifact.get("metrics", {}) if isinstance(artifact, dict) else {}
        data_range = artifact.get("data_range", {}) if isinstance(artifact, dict) else {}
        with transaction.atomic():
            _job_complete(job, resulting_metrics=metrics, artifact_path=relative)
            AIModel.objects.filter(pk=model.pk).update(
                model_file_path=relative,
                last_trained=timezone.now(),
                training_duration_minutes=round((time.monotonic() - began) / 60),
                performance_metrics=metrics,
                training_data_range=data_range,
                model_size_mb=Decimal(path.stat().st_size / 1_048_576).quantize(Decimal("0.01")),
                status=ModelStatus.ACTIVE if model.is_active else ModelStatus.INACTIVE,
                updated_at=timezone.now(),
            )
    except JobCancelled:
        AIModel.objects.filter(pk=model.pk).update(status=previous_status)
    except Exception as exc:
        _job_fail(job, exc)
        AIModel.objects.filter(pk=model.pk).update(status=previous_status)
    job.refresh_from_db()
    return job


def prediction_job_execute(*, job_id: int) -> ModelPredictionJob | None:
    """Run a pending prediction job to its end (the Celery task's body); return the job, or None."""
    job = _job_start(ModelPredictionJob, job_id)
    if job is None:
        return None
    model = job.model
    try:
        arch = architecture_get(model.architecture)
        scope = PredictionScope(
            timeframe=job.timeframe or model.training_data_timeframe,
            asset=job.asset,
            sector=job.sector,
            parameters=job.parameters,
            checkpoint=lambda percent: job_checkpoint(job=job, percent=percent, record=False),
        )
        # The rows and the completion commit together: a job cancelled meanwhile leaves nothing.
        with transaction.atomic():
            written = arch.predict(model=model, job=job, scope=scope)
            _job_complete(job, predictions_count=written, output={"rows": written, **scope.output})
            AIModel.objects.filter(pk=model.pk).update(
                last_prediction=timezone.now(), prediction_count=F("prediction_count") + written
            )
    except JobCancelled:
        pass
    except Exception as exc:
        _job_fail(job, exc)
    job.refresh_from_db()
    return job
