"""Market snapshots and AI regime analyses (time series: cursor pagination, newest first)."""

from cryptopredict.api.base import BaseModelViewSet, TimeSeriesMixin

from ..filtersets import AIRegimeAnalysisFilterSet, MetricsSnapshotFilterSet
from ..models import AIRegimeAnalysis, MetricsSnapshot
from .serializers import AIRegimeAnalysisSerializer, MetricsSnapshotSerializer


class MetricsSnapshotViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = MetricsSnapshot.objects.all()
    serializer_class = MetricsSnapshotSerializer
    filterset_class = MetricsSnapshotFilterSet
    ordering = ("-snapshot_time",)


class AIRegimeAnalysisViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = AIRegimeAnalysis.objects.all()
    serializer_class = AIRegimeAnalysisSerializer
    filterset_class = AIRegimeAnalysisFilterSet
    search_fields = ("summary",)
    ordering = ("-analysis_time",)
