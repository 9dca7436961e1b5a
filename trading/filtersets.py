"""Filters of signals, trades and holding analyses: assets by id or symbol."""

from cryptopredict.api.filters import AIAnalysisFilterSet, BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import AITradingSignal, PortfolioAssetAnalysis, TradeAction


class AITradingSignalFilterSet(AIAnalysisFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")

    class Meta:
        model = AITradingSignal
        fields = filter_fields(AITradingSignal)


class TradeActionFilterSet(BaseFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")

    class Meta:
        model = TradeAction
        fields = filter_fields(TradeAction)


class PortfolioAssetAnalysisFilterSet(AIAnalysisFilterSet):
    class Meta:
        model = PortfolioAssetAnalysis
        fields = filter_fields(PortfolioAssetAnalysis)
