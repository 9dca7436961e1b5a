"""Filters of the watchlist and portfolio lists: assets by id or symbol."""

from cryptopredict.api.filters import AIAnalysisFilterSet, BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)

OWNED_LIST = ("deleted_at", "deleted_by")


class WatchlistFilterSet(BaseFilterSet):
    class Meta:
        model = Watchlist
        fields = filter_fields(Watchlist, exclude=OWNED_LIST)


class WatchlistAssetFilterSet(BaseFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")

    class Meta:
        model = WatchlistAsset
        fields = filter_fields(WatchlistAsset)


class PortfolioFilterSet(BaseFilterSet):
    class Meta:
        model = Portfolio
        fields = filter_fields(Portfolio, exclude=OWNED_LIST)


class PortfolioAssetFilterSet(BaseFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")

    class Meta:
        model = PortfolioAsset
        fields = filter_fields(PortfolioAsset)


class AIWatchlistAnalysisFilterSet(AIAnalysisFilterSet):
    class Meta:
        model = AIWatchlistAnalysis
        fields = filter_fields(AIWatchlistAnalysis)


class AIPortfolioAnalysisFilterSet(AIAnalysisFilterSet):
    class Meta:
        model = AIPortfolioAnalysis
        fields = filter_fields(AIPortfolioAnalysis)
