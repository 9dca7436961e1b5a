"""The AI registry, evaluations, and training / prediction jobs (registered, activated, queued,
cancelled and retried through ai.services, which record each change in the audit trail)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cryptopredict.api.base import BaseModelViewSet, TimeSeriesMixin
from cryptopredict.api.permissions import can_write
from cryptopredict.choices import UserRole

from .. import services
from ..filtersets import (
    AIModelFilterSet,
    ModelEvaluationFilterSet,
    ModelPredictionJobFilterSet,
    ModelTrainingJobFilterSet,
)
from ..models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from ..registry import architecture_get
from .serializers import (
    AIModelSerializer,
    ModelEvaluationSerializer,
    ModelPredictionJobSerializer,
    ModelTrainingJobSerializer,
    PredictionJobRequestSerializer,
    TrainingJobRequestSerializer,
)


class AIModelViewSet(BaseModelViewSet):
    queryset = AIModel.objects.all()
    serializer_class = AIModelSerializer
    filterset_class = AIModelFilterSet
    search_fields = ("name", "architecture", "target_variable", "training_notes")

    def perform_create(self, serializer):
        serializer.instance = services.model_register(actor=self.request.user, **serializer.validated_data)

    def _lifecycle(self, move):
        model = move(model=self.get_object(), actor=self.request.user)
        return Response(self.get_serializer(model).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Make this the active model of its name and type (the previous one is deactivated)."""
        return self._lifecycle(services.model_activate)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def deprecate(self, request, pk=None):
        """Retire this model: inactive, deprecated, no new jobs."""
        return self._lifecycle(services.model_deprecate)


class ModelEvaluationViewSet(BaseModelViewSet):
    queryset = ModelEvaluation.objects.all()
    serializer_class = ModelEvaluationSerializer
    filterset_class = ModelEvaluationFilterSet
    search_fields = ("notes", "model__name")

    def tracking(self, *, created: bool) -> dict:
        return {"evaluated_by": self.request.user} if created else {}


class JobViewSet(TimeSeriesMixin, BaseModelViewSet):
    """Jobs are read by everyone signed in, queued / cancelled / retried by writers; never edited."""

    http_method_names = ["get", "post", "head", "options"]
    ordering = ("-queued_at",)
    search_fields = ("error_message",)
    request_serializer_class = None

    def queue(self, request, data: dict):
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        request_serializer = self.request_serializer_class(data=request.data)
        request_serializer.is_valid(raise_exception=True)
        job = self.queue(request, dict(request_serializer.validated_data))
        job = self.get_queryset().get(pk=job.pk)
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    def _transition(self, request, move):
        job = self.get_object()
        try:
            job = move(job=job, actor=request.user)
        except services.JobTransitionError as exc:
            return Response(
                {"detail": exc.messages[0], "code": "transition"}, status=status.HTTP_409_CONFLICT
            )
        return Response(self.get_serializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending or running job (a running one stops at its next checkpoint); 409 if it
        has already ended."""
        return self._transition(request, services.job_cancel)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Return a failed, cancelled or stale job to pending and queue it again; 409 for a
        completed or live running job."""
        return self._transition(request, services.job_retry)


class ModelTrainingJobViewSet(JobViewSet):
    queryset = ModelTrainingJob.objects.all()
    serializer_class = ModelTrainingJobSerializer
    filterset_class = ModelTrainingJobFilterSet
    request_serializer_class = TrainingJobRequestSerializer

    @extend_schema(request=TrainingJobRequestSerializer, responses={201: ModelTrainingJobSerializer})
    def create(self, request, *args, **kwargs):
        """Queue a training job (writers only)."""
        return super().create(request, *args, **kwargs)

    def queue(self, request, data):
        return services.training_job_queue(requested_by=request.user, **data)


class ModelPredictionJobViewSet(JobViewSet):
    queryset = ModelPredictionJob.objects.all()
    serializer_class = ModelPredictionJobSerializer
    filterset_class = ModelPredictionJobFilterSet
    request_serializer_class = PredictionJobRequestSerializer

    def get_permissions(self):
        # A public user may queue a prediction for its own watchlist or portfolio: checked in queue().
        if self.action == "create":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=PredictionJobRequestSerializer, responses={201: ModelPredictionJobSerializer})
    def create(self, request, *args, **kwargs):
        """Queue a prediction job: writers for anything; a public user for a watchlist or portfolio
        it owns (`parameters: {"watchlist": id}` or `{"portfolio": id}`)."""
        writer = can_write(request.user, ModelPredictionJob, "create")
        if not writer and request.user.role != UserRole.PUBLIC:
            raise PermissionDenied("Your account may not request predictions.")
        self.writer = writer
        return super().create(request, *args, **kwargs)

    def queue(self, request, data):
        if not self.writer:
            self.check_owned_target(request.user, data)
        return services.prediction_job_queue(requested_by=request.user, **data)

    @staticmethod
    def check_owned_target(user, data: dict) -> None:
        """Let a non-writer through only for one target of its own that the model's architecture
        runs on (its `owned_targets`, e.g. a watchlist or portfolio; 404 for another's)."""
        targets = getattr(architecture_get(data["model"].architecture), "owned_targets", {})
        parameters = data.get("parameters") or {}
        keys = [key for key in targets if key in parameters]
        if len(keys) != 1 or data.get("asset") or data.get("sector"):
            if not targets:
                raise PermissionDenied("This model does not run on anything you own.")
            raise PermissionDenied(f"Request predictions for one {' or '.join(targets)} of yours.")
        key = keys[0]
        try:
            target_id = int(parameters[key])
        except (TypeError, ValueError):
            raise NotFound(f"No such {key}.") from None
        if not targets[key].objects.alive().filter(pk=target_id, user=user).exists():
            raise NotFound(f"No such {key}.")
