"""Filters for market snapshots and regime analyses."""

from django_filters import rest_framework as filters

from cryptopredict.api.filters import BaseFilterSet, filter_fields

from .models import AIRegimeAnalysis, MetricsSnapshot


class MetricsSnapshotFilterSet(BaseFilterSet):
    class Meta:
        model = MetricsSnapshot
        fields = filter_fields(MetricsSnapshot)


class AIRegimeAnalysisFilterSet(BaseFilterSet):
    ai_model_name = filters.CharFilter(field_name="ai_model__name", lookup_expr="iexact")

    class Meta:
        model = AIRegimeAnalysis
        fields = filter_fields(AIRegimeAnalysis)
