"""Admin actions on AI models and jobs: thin loops over ai.services, one message per outcome."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .evaluation import model_evaluate


def _each(modeladmin, request, queryset, verb: str, call) -> None:
    """Call `call(row)` for every selected row; report the successes and each refusal."""
    done, refusals = [], []
    for row in queryset:
        try:
            done.append(call(row))
        except ValidationError as error:
            refusals.append(f"{row}: {'; '.join(error.messages)}")
    if done:
        modeladmin.message_user(request, f"{verb}: {', '.join(str(item) for item in done)}", messages.SUCCESS)
    for refusal in refusals:
        modeladmin.message_user(request, refusal, messages.WARNING)


@admin.action(description="Queue a training job", permissions=["change"])
def queue_training(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, "training queued",
          lambda model: services.training_job_queue(model=model, requested_by=request.user))  # fmt: skip


@admin.action(description="Run predictions (whole scope)", permissions=["change"])
def run_predictions(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, "predictions queued",
          lambda model: services.prediction_job_queue(model=model, requested_by=request.user))  # fmt: skip


@admin.action(description="Evaluate (walk-forward backtest)", permissions=["change"])
def evaluate(modeladmin, request, queryset):
    _each(modeladmin, request, queryset, "evaluated",
          lambda model: model_evaluate(model=model, evaluated_by=request.user))  # fmt: skip


@admin.action(description="Activate (replaces the active model of the same name)", permissions=["change"])
def activate(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        "activated",
        lambda model: services.model_activate(model=model, actor=request.user),
    )


@admin.action(description="Deprecate", permissions=["change"])
def deprecate(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        "deprecated",
        lambda model: services.model_deprecate(model=model, actor=request.user),
    )


@admin.action(description="Cancel (a running job stops at its next checkpoint)", permissions=["change"])
def cancel_jobs(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        "cancelled",
        lambda job: services.job_cancel(job=job, actor=request.user),
    )


@admin.action(description="Retry (failed, cancelled or stale jobs)", permissions=["change"])
def retry_jobs(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        "queued again",
        lambda job: services.job_retry(job=job, actor=request.user),
    )


MODEL_ACTIONS = (queue_training, run_predictions, evaluate, activate, deprecate)
JOB_ACTIONS = (cancel_jobs, retry_jobs)
