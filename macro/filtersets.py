"""Filters for market snapshots and regime analyses."""

from cryptopredict.api.filters import AIAnalysisFilterSet, BaseFilterSet, filter_fields

from .models import AIRegimeAnalysis, MetricsSnapshot


class MetricsSnapshotFilterSet(BaseFilterSet):
    class Meta:
        model = MetricsSnapshot
        fields = filter_fields(MetricsSnapshot)


class AIRegimeAnalysisFilterSet(AIAnalysisFilterSet):
    class Meta:
        model = AIRegimeAnalysis
        fields = filter_fields(AIRegimeAnalysis)
