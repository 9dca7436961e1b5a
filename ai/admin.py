"""The AI registry and its job queue in the admin.

Operator actions (queue, cancel, retry, ...) call ai.services; add them to the `actions` of
AIModelAdmin or of JobAdmin (both job admins inherit it) as plain admin actions.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.urls import path

from cryptopredict.admin import BaseAdmin, HistoryAdmin, RecentRowsInline, json_table
from cryptopredict.choices import ActivityAction

from . import selectors
from .admin_actions import JOB_ACTIONS, MODEL_ACTIONS
from .models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from .services import prediction_job_check, prediction_job_queue, training_job_check, training_job_queue

# Columns of a job that only its lifecycle (ai.services and the workers) writes.
JOB_LIFECYCLE_FIELDS = (
    "status",
    "progress_percent",
    "attempts",
    "queued_at",
    "started_at",
    "completed_at",
    "task_id",
    "error_message",
)


class EvaluationInline(RecentRowsInline):
    model = ModelEvaluation
    fields = (
        "evaluated_at",
        "evaluation_type",
        "timeframe",
        "period_start",
        "period_end",
        "sharpe_ratio",
        "total_return",
        "max_drawdown",
        "passed",
    )


class TrainingJobInline(RecentRowsInline):
    model = ModelTrainingJob
    fields = ("queued_at", "status", "progress_percent", "timeframe", "completed_at", "error_message")


class PredictionJobInline(RecentRowsInline):
    model = ModelPredictionJob
    fields = ("queued_at", "status", "progress_percent", "timeframe", "predictions_count", "completed_at")


@admin.register(AIModel)
class AIModelAdmin(HistoryAdmin, BaseAdmin):
    list_display = (
        "name",
        "version",
        "model_type",
        "architecture",
        "status",
        "is_active",
        "training_data_timeframe",
        "last_trained",
        "last_prediction",
        "prediction_count",
    )
    list_filter = ("model_type", "status", "is_active", "training_data_timeframe", "architecture")
    search_fields = ("name", "version", "architecture", "target_variable")
    ordering = ("name", "-version")
    inlines = (EvaluationInline, TrainingJobInline, PredictionJobInline)
    actions = MODEL_ACTIONS
    readonly_fields = ("last_trained", "last_prediction", "prediction_count")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("name", "version"),
                    ("model_type", "architecture", "framework"),
                    ("target_variable", "training_data_timeframe"),
                )
            },
        ),
        (
            "Status",
            {
                "fields": (
                    ("status", "is_active"),
                    ("deployment_environment", "deployed_at", "deprecated_at"),
                    ("min_confidence_threshold", "max_predictions_per_hour", "requires_manual_approval"),
                    "health_status",
                )
            },
        ),
        (
            "Training",
            {
                "fields": (
                    "configuration",
                    "training_features",
                    "training_data_range",
                    ("last_trained", "training_duration_minutes"),
                    ("model_file_path", "model_size_mb"),
                    "performance_metrics",
                    "training_notes",
                )
            },
        ),
        ("Schemas", {"classes": ("collapse",), "fields": ("input_schema", "output_schema")}),
        (
            "Usage",
            {"fields": (("last_prediction", "prediction_count"), ("created_at", "updated_at"))},
        ),
    )


@admin.register(ModelEvaluation)
class ModelEvaluationAdmin(BaseAdmin):
    list_display = (
        "model",
        "evaluation_type",
        "timeframe",
        "period_start",
        "period_end",
        "sample_size",
        "total_return",
        "sharpe_ratio",
        "max_drawdown",
        "win_rate",
        "passed",
        "evaluated_at",
    )
    list_filter = ("evaluation_type", "timeframe", "passed", "model__model_type")
    search_fields = ("model__name", "notes")
    ordering = ("-evaluated_at",)
    list_select_related = ("model",)
    autocomplete_fields = ("model", "evaluated_by")
    fraction_fields = (
        "accuracy",
        "precision",
        "recall",
        "total_return",
        "annualized_return",
        "max_drawdown",
        "cagr",
        "win_rate",
    )
    multiple_fields = ("profit_factor",)
    change_form_template = "admin/ai/modelevaluation/change_form.html"

    # An evaluation is a measurement: evaluate_model writes it, nobody edits it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="metrics")
    def metrics_shown(self, obj):
        # The curves are the chart above and the comparison is in the figures table.
        return json_table({k: v for k, v in (obj.metrics or {}).items() if k not in ("curves", "comparison")})

    def get_urls(self):
        chart = self.admin_site.admin_view(self.equity_chart_view)
        return [
            path("<path:object_id>/chart/equity/", chart, name="ai_modelevaluation_chart_equity"),
            *super().get_urls(),
        ]

    def equity_chart_view(self, request, object_id):
        """Answer the evaluation's equity, drawdown and period-return curves as JSON."""
        evaluation = self.get_object(request, object_id)
        if evaluation is None or not self.has_view_permission(request, evaluation):
            raise Http404("No such evaluation.")
        return JsonResponse(
            {"model": str(evaluation.model), **(selectors.evaluation_curves(evaluation) or {"time": []})}
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["figures"] = selectors.evaluation_figures(obj)
            context["verdict"] = selectors.evaluation_verdict(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


class JobQueueForm(forms.ModelForm):
    """The add form of a job: checked by the ai.services check of its kind, which writes nothing.

    The service's refusals (a deprecated model, a rule-based one sent to training, a bad scope)
    come back as errors on the form; JobAdmin.save_form then creates and queues the job.
    """

    job_check = None  # set by JobAdmin.get_form

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            self.job_check(**self.cleaned_data)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            for field, messages in errors.items():
                self.add_error(field if field in self.fields else None, messages)


class JobAdmin(BaseAdmin):
    """What the training and the prediction job admins share.

    The lifecycle columns are read-only: a job is added through its queue service, and moves
    only through ai.services.
    """

    queue = None  # the ai.services function that creates and queues this kind of job
    job_check = None  # and the one that checks its fields, writing nothing
    service_records = (ActivityAction.CREATE,)  # the queue service
    add_fields = ("model", "timeframe", "parameters")
    list_display = (
        "id",
        "model",
        "status",
        "progress_percent",
        "priority",
        "timeframe",
        "attempts",
        "queued_at",
        "started_at",
        "completed_at",
    )
    list_filter = ("status", "timeframe", "model__model_type")
    search_fields = ("model__name", "=task_id")
    ordering = ("-queued_at",)
    list_select_related = ("model",)
    autocomplete_fields = ("model", "requested_by")
    readonly_fields = JOB_LIFECYCLE_FIELDS
    actions = JOB_ACTIONS

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = type(
                "JobQueueForm", (JobQueueForm,), {"job_check": staticmethod(self.job_check)}
            )
        return super().get_form(request, obj, **kwargs)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return self.queue(requested_by=request.user, **form.cleaned_data)

    def save_model(self, request, obj, form, change):
        if change:  # an added job was saved by its queue service
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if change:  # jobs have no many-to-many fields and no inlines to add with them
            super().save_related(request, form, formsets, change)


@admin.register(ModelTrainingJob)
class ModelTrainingJobAdmin(JobAdmin):
    queue = staticmethod(training_job_queue)
    job_check = staticmethod(training_job_check)
    add_fields = (*JobAdmin.add_fields, "training_data_start", "training_data_end")
    readonly_fields = (*JOB_LIFECYCLE_FIELDS, "resulting_metrics", "artifact_path")


@admin.register(ModelPredictionJob)
class ModelPredictionJobAdmin(JobAdmin):
    queue = staticmethod(prediction_job_queue)
    job_check = staticmethod(prediction_job_check)
    add_fields = ("model", "asset", "sector", "timeframe", "parameters")
    list_display = (*JobAdmin.list_display[:6], "asset", "sector", *JobAdmin.list_display[6:])
    list_select_related = ("model", "asset", "sector")
    autocomplete_fields = (*JobAdmin.autocomplete_fields, "asset", "sector")
    readonly_fields = (*JOB_LIFECYCLE_FIELDS, "predictions_count", "output")
