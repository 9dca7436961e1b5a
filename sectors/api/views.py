"""Sectors (by id or slug), their history and asset mappings, and the layer-2 AI analyses."""

from cryptopredict.api.base import BaseModelViewSet, TimeSeriesMixin

from .. import filtersets
from ..models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)
from . import serializers


class SectorViewSet(BaseModelViewSet):
    queryset = Sector.objects.all()
    serializer_class = serializers.SectorSerializer
    filterset_class = filtersets.SectorFilterSet
    search_fields = ("name", "slug", "description")
    slug_field = "slug"


class SectorHistoryViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = SectorHistory.objects.all()
    serializer_class = serializers.SectorHistorySerializer
    filterset_class = filtersets.SectorHistoryFilterSet
    ordering = ("-snapshot_time",)


class SectorMappingViewSet(BaseModelViewSet):
    queryset = SectorMapping.objects.all()
    serializer_class = serializers.SectorMappingSerializer
    filterset_class = filtersets.SectorMappingFilterSet


class AISectorAnalysisViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = AISectorAnalysis.objects.all()
    serializer_class = serializers.AISectorAnalysisSerializer
    filterset_class = filtersets.AISectorAnalysisFilterSet
    search_fields = ("summary",)
    ordering = ("-analysis_time",)


class AICrossSectorAnalysisViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = AICrossSectorAnalysis.objects.all()
    serializer_class = serializers.AICrossSectorAnalysisSerializer
    filterset_class = filtersets.AICrossSectorAnalysisFilterSet
    search_fields = ("summary",)
    ordering = ("-analysis_time",)


class SectorRotationFlowViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = SectorRotationFlow.objects.all()
    serializer_class = serializers.SectorRotationFlowSerializer
    filterset_class = filtersets.SectorRotationFlowFilterSet
    ordering = ("-detected_at",)
