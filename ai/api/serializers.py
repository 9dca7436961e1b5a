"""Serializers for the AI registry, evaluations and the job lifecycle."""

from rest_framework import serializers

from assets.models import Asset
from cryptopredict.api.base import BaseModelSerializer, TimeframeField

from ..models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from ..registry import architecture_names


class AIModelSerializer(BaseModelSerializer):
    class Meta:
        model = AIModel
        fields = "__all__"
        # Kept by the jobs and by the activate / deprecate actions (ai.services).
        read_only_fields = [
            "prediction_count",
            "last_prediction",
            "last_trained",
            "status",
            "is_active",
            "deployed_at",
            "deprecated_at",
            "model_file_path",
        ]
        # ai.services.model_register fills these from the architecture when they are left out.
        extra_kwargs = {
            name: {"required": False} for name in ("model_type", "training_data_timeframe", "target_variable")
        }

    def get_validators(self):
        # is_active is read-only here (activation is ai.services.model_activate), so the rule of one
        # active model per name and type cannot be broken through this serializer.
        return [v for v in super().get_validators() if "is_active" not in getattr(v, "condition_fields", ())]

    def validate_architecture(self, value):
        unchanged = self.instance is not None and value == self.instance.architecture
        if not unchanged and value not in architecture_names():
            known = ", ".join(architecture_names()) or "none"
            raise serializers.ValidationError(f"Unknown architecture {value!r}; registered: {known}.")
        return value


class ModelEvaluationSerializer(BaseModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)

    class Meta:
        model = ModelEvaluation
        fields = "__all__"
        read_only_fields = ["evaluated_by"]

    def validate(self, attrs):
        start = attrs.get("period_start", getattr(self.instance, "period_start", None))
        end = attrs.get("period_end", getattr(self.instance, "period_end", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"period_end": ["Must be after period_start."]})
        return super().validate(attrs)


class JobSerializer(BaseModelSerializer):
    """A job as clients read it: the lifecycle fields are written only by ai.services."""

    model_name = serializers.CharField(source="model.name", read_only=True)

    class Meta:
        fields = "__all__"
        read_only_fields = [
            "status",
            "priority",
            "requested_by",
            "queued_at",
            "started_at",
            "completed_at",
            "progress_percent",
            "attempts",
            "task_id",
            "error_message",
        ]


class ModelTrainingJobSerializer(JobSerializer):
    class Meta(JobSerializer.Meta):
        model = ModelTrainingJob
        read_only_fields = [*JobSerializer.Meta.read_only_fields, "resulting_metrics", "artifact_path"]


class ModelPredictionJobSerializer(JobSerializer):
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True, default=None)
    sector_slug = serializers.CharField(source="sector.slug", read_only=True, default=None)

    class Meta(JobSerializer.Meta):
        model = ModelPredictionJob
        read_only_fields = [*JobSerializer.Meta.read_only_fields, "predictions_count", "output"]


class JobRequestSerializer(serializers.Serializer):
    model = serializers.PrimaryKeyRelatedField(queryset=AIModel.objects.all())
    timeframe = TimeframeField(required=False, help_text="Defaults to the model's training timeframe.")
    parameters = serializers.JSONField(required=False, help_text="A JSON object.")

    def validate_parameters(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class TrainingJobRequestSerializer(JobRequestSerializer):
    """`POST training-jobs/`: queue a training job."""

    training_data_start = serializers.DateTimeField(required=False)
    training_data_end = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("training_data_start"), attrs.get("training_data_end")
        if start and end and end <= start:
            raise serializers.ValidationError({"training_data_end": ["Must be after training_data_start."]})
        return attrs


class PredictionJobRequestSerializer(JobRequestSerializer):
    """`POST prediction-jobs/`: queue a prediction job over an asset, a sector, or (parameters) a
    watchlist or portfolio."""

    asset = serializers.PrimaryKeyRelatedField(queryset=Asset.objects.all(), required=False, allow_null=True)
    sector = serializers.PrimaryKeyRelatedField(  # the job's sector: ai names no app above it
        queryset=ModelPredictionJob.sector.field.related_model.objects.all(), required=False, allow_null=True
    )
