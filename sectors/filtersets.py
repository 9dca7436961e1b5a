"""Filters for sectors, their history, asset mappings and AI analyses (`?sector=defi` or by id)."""

from cryptopredict.api.filters import AIAnalysisFilterSet, BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)


def sector_filter(name: str) -> IdOrSlugFilter:
    return IdOrSlugFilter(field_name=name, slug_field="slug", label="Sector id or slug")


class SectorFilterSet(BaseFilterSet):
    parent = sector_filter("parent")

    class Meta:
        model = Sector
        fields = filter_fields(Sector)


class SectorHistoryFilterSet(BaseFilterSet):
    sector = sector_filter("sector")
    sector_slug = IdOrSlugFilter(field_name="sector", slug_field="slug", ids=False)

    class Meta:
        model = SectorHistory
        fields = filter_fields(SectorHistory)


class SectorMappingFilterSet(BaseFilterSet):
    sector = sector_filter("sector")
    sector_slug = IdOrSlugFilter(field_name="sector", slug_field="slug", ids=False)
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol", label="Asset id or symbol")
    asset_symbol = IdOrSlugFilter(field_name="asset", slug_field="symbol", ids=False)

    class Meta:
        model = SectorMapping
        fields = filter_fields(SectorMapping)


class AISectorAnalysisFilterSet(AIAnalysisFilterSet):
    sector = sector_filter("sector")
    sector_slug = IdOrSlugFilter(field_name="sector", slug_field="slug", ids=False)

    class Meta:
        model = AISectorAnalysis
        fields = filter_fields(AISectorAnalysis)


class AICrossSectorAnalysisFilterSet(AIAnalysisFilterSet):
    class Meta:
        model = AICrossSectorAnalysis
        fields = filter_fields(AICrossSectorAnalysis)


class SectorRotationFlowFilterSet(BaseFilterSet):
    from_sector = sector_filter("from_sector")
    to_sector = sector_filter("to_sector")

    class Meta:
        model = SectorRotationFlow
        fields = filter_fields(SectorRotationFlow)
