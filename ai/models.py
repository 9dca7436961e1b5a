from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from cryptopredict.choices import JobStatus, Timeframe
from cryptopredict.models import TimestampedModel, choices_check, range_check

from .choices import EvaluationType, ModelStatus, ModelType


class AIModel(TimestampedModel):
    name = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    architecture = models.CharField(max_length=50, help_text="A registered architecture name.")
    model_type = models.CharField(max_length=10, choices=ModelType.choices, db_index=True)
    status = models.CharField(
        max_length=10,
        choices=ModelStatus.choices,
        default=ModelStatus.INACTIVE,
        db_default=ModelStatus.INACTIVE,
        db_index=True,
    )

    configuration = models.JSONField(null=True, blank=True, default=dict, db_default={})
    performance_metrics = models.JSONField(null=True, blank=True, default=dict, db_default={})
    training_features = models.JSONField(null=True, blank=True, default=dict, db_default={})
    training_data_range = models.JSONField(null=True, blank=True, default=dict, db_default={})
    training_data_timeframe = models.CharField(max_length=10, choices=Timeframe.choices)
    target_variable = models.CharField(max_length=50)

    input_schema = models.JSONField(null=True, blank=True, default=dict, db_default={})
    output_schema = models.JSONField(null=True, blank=True, default=dict, db_default={})
    health_status = models.JSONField(null=True, blank=True, default=dict, db_default={})

    training_notes = models.TextField(null=True, blank=True)
    model_file_path = models.CharField(max_length=100, null=True, blank=True)
    framework = models.CharField(max_length=50, null=True, blank=True)
    deployment_environment = models.CharField(max_length=20, null=True, blank=True)

    last_trained = models.DateTimeField(null=True, blank=True)
    last_prediction = models.DateTimeField(null=True, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)

    is_active = models.BooleanField(default=False, db_default=False, db_index=True)
    prediction_count = models.IntegerField(default=0, db_default=0)
    model_size_mb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    training_duration_minutes = models.IntegerField(null=True, blank=True)

    min_confidence_threshold = models.DecimalField(
        max_digits=4, decimal_places=2, default=0.5, db_default=0.5
    )
    max_predictions_per_hour = models.IntegerField(null=True, blank=True)
    requires_manual_approval = models.BooleanField(null=True, blank=True, default=False, db_default=False)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at", "last_prediction", "prediction_count"])

    class Meta:
        db_table = "ai_models"
        ordering = ["name", "-version"]
        verbose_name = "AI model"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_confidence_threshold__range=(0, 1)), name="chk_confidence_threshold"
            ),
            models.CheckConstraint(
                condition=Q(prediction_count__gte=0), name="chk_prediction_count_positive"
            ),
            models.UniqueConstraint(
                fields=["name", "model_type"], condition=Q(is_active=True), name="idx_unique_active_model"
            ),
            models.UniqueConstraint(fields=["name", "version"], name="unique_ai_model_name_version"),
            choices_check("model_type", ModelType, name="chk_ai_models_model_type"),
            choices_check("status", ModelStatus, name="chk_ai_models_status"),
            choices_check("training_data_timeframe", Timeframe, name="chk_ai_models_timeframe"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idx_ai_models_created_at")]

    def __str__(self):
        return f"{self.name} v{self.version}"


class ModelEvaluation(TimestampedModel):
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="evaluations")
    evaluation_type = models.CharField(max_length=20, choices=EvaluationType.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    sample_size = models.IntegerField(default=0, db_default=0)
    metrics = models.JSONField(default=dict, db_default={}, blank=True)

    accuracy = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    precision = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    recall = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    f1_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    total_return = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    annualized_return = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    max_drawdown = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cagr = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    sharpe_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    sortino_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    calmar_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    profit_factor = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    win_rate = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    trade_count = models.IntegerField(null=True, blank=True)
    # The same figures for every baseline over the same period: {"buy_and_hold": {...}, "sma_200": {...}}
    # for strategies, {"majority": ..., "persistence": ..., "random_prior": ...} for classifiers.
    baseline_metrics = models.JSONField(default=dict, db_default={}, blank=True)
    # Equity and drawdown curves (<= 2000 points) and monthly / yearly returns of the model and
    # each baseline, for drawing: see ai.evaluation.curves_of.
    curves = models.JSONField(default=dict, db_default={}, blank=True)
    passed = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Beat every baseline by the configured margin, the 95% interval's lower bound above it.",
    )
    evaluated_at = models.DateTimeField(db_default=Now())
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notes = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "model_evaluations"
        ordering = ["-evaluated_at"]
        indexes = [models.Index(fields=["model", "-evaluated_at"], name="idx_model_eval_model_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="chk_evaluation_period"
            ),
            models.CheckConstraint(condition=Q(sample_size__gte=0), name="chk_evaluation_sample_size"),
            *(
                range_check(field, low=0, high=1, name=f"chk_evaluation_{field}")
                for field in ("accuracy", "precision", "recall", "f1_score", "win_rate", "max_drawdown")
            ),
            range_check("trade_count", low=0, name="chk_evaluation_trade_count"),
            choices_check("evaluation_type", EvaluationType, name="chk_evaluation_type"),
            choices_check("timeframe", Timeframe, name="chk_evaluation_timeframe"),
        ]

    def __str__(self):
        return f"{self.model} {self.evaluation_type} {self.period_start:%Y-%m-%d}..{self.period_end:%Y-%m-%d}"


def job_constraints(prefix: str) -> list:
    """Return the rules both job tables hold, with constraint names led by `prefix`."""
    return [
        choices_check("status", JobStatus, name=f"{prefix}_status"),
        choices_check("timeframe", Timeframe, name=f"{prefix}_timeframe", null=True),
        models.CheckConstraint(
            condition=Q(completed_at__isnull=True)
            | Q(started_at__isnull=True)
            | Q(completed_at__gte=F("started_at")),
            name=f"{prefix}_completed_after_start",
        ),
        models.CheckConstraint(condition=Q(progress_percent__range=(0, 100)), name=f"{prefix}_progress"),
        models.CheckConstraint(condition=Q(attempts__gte=0), name=f"{prefix}_attempts"),
    ]


class Job(TimestampedModel):
    """What a training and a prediction job share: the lifecycle kept by ai.services."""

    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_default=JobStatus.PENDING
    )
    priority = models.SmallIntegerField(default=0, db_default=0)
    parameters = models.JSONField(default=dict, db_default={}, blank=True)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    queued_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress_percent = models.SmallIntegerField(default=0, db_default=0)
    attempts = models.IntegerField(default=0, db_default=0)
    task_id = models.CharField(max_length=255, null=True, blank=True, help_text="The queue's id.")
    error_message = models.TextField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-queued_at"]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk} ({self.status})"


class ModelTrainingJob(Job):
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="training_jobs")
    training_data_start = models.DateTimeField(null=True, blank=True)
    training_data_end = models.DateTimeField(null=True, blank=True)
    resulting_metrics = models.JSONField(default=dict, db_default={}, blank=True)
    artifact_path = models.CharField(max_length=500, null=True, blank=True)

    class Meta(Job.Meta):
        db_table = "model_training_jobs"
        constraints = [
            *job_constraints("chk_training_job"),
            models.UniqueConstraint(
                fields=["model"], condition=Q(status=JobStatus.RUNNING), name="unique_running_training_job"
            ),
            models.CheckConstraint(
                condition=Q(training_data_start__isnull=True)
                | Q(training_data_end__isnull=True)
                | Q(training_data_end__gt=F("training_data_start")),
                name="chk_training_job_data_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "priority"], name="idx_training_job_status")]


class ModelPredictionJob(Job):
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="prediction_jobs")
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, null=True, blank=True, related_name="prediction_jobs"
    )
    sector = models.ForeignKey(
        "sectors.Sector", on_delete=models.CASCADE, null=True, blank=True, related_name="prediction_jobs"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    predictions_count = models.IntegerField(default=0, db_default=0)
    output = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta(Job.Meta):
        db_table = "model_prediction_jobs"
        constraints = [
            *job_constraints("chk_prediction_job"),
            models.CheckConstraint(condition=Q(predictions_count__gte=0), name="chk_prediction_job_count"),
        ]
        indexes = [models.Index(fields=["status", "priority"], name="idx_prediction_job_status")]
