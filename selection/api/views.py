"""Watchlists, portfolios, holdings and their AI analyses: owners' endpoints (see access.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from cryptopredict.api.base import BaseModelViewSet, TimeSeriesMixin
from cryptopredict.api.ownership import OwnedMixin
from selection import filtersets, services
from selection.models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)
from selection.selectors import holdings_valued, portfolios_valued

from . import serializers


class ValuedMixin:
    """Answer writes with the row as the list shows it, live valuation included."""

    def perform_create(self, serializer):
        super().perform_create(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)


class WatchlistViewSet(OwnedMixin, BaseModelViewSet):
    queryset = Watchlist.objects.all()
    serializer_class = serializers.WatchlistSerializer
    filterset_class = filtersets.WatchlistFilterSet
    search_fields = ("name", "description")

    def get_serializer_class(self):
        return (
            serializers.WatchlistDetailSerializer
            if self.action == "retrieve"
            else super().get_serializer_class()
        )

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("items__asset")
        return queryset


class WatchlistAssetViewSet(OwnedMixin, BaseModelViewSet):
    """Watchlist items, saved through selection.services.watchlist_item_save (their thresholds
    become price alert rules)."""

    queryset = WatchlistAsset.objects.all()
    serializer_class = serializers.WatchlistAssetSerializer
    filterset_class = filtersets.WatchlistAssetFilterSet
    search_fields = ("notes", "asset__symbol", "asset__name")
    owner, parent = "watchlist__user", "watchlist"

    def perform_create(self, serializer):
        item = WatchlistAsset(**serializer.validated_data, **self.tracking(created=True))
        serializer.instance = services.watchlist_item_save(
            item=item, actor=self.request.user, changed_fields=sorted(serializer.validated_data)
        )

    def perform_update(self, serializer):
        item, data = serializer.instance, serializer.validated_data
        before = {name: item._meta.get_field(name).value_from_object(item) for name in data}
        for name, value in {**data, **self.tracking(created=False)}.items():
            setattr(item, name, value)
        changed = [
            name for name in data if item._meta.get_field(name).value_from_object(item) != before[name]
        ]
        services.watchlist_item_save(item=item, actor=self.request.user, changed_fields=sorted(changed))


class PortfolioViewSet(ValuedMixin, OwnedMixin, BaseModelViewSet):
    queryset = Portfolio.objects.all()
    serializer_class = serializers.PortfolioSerializer
    filterset_class = filtersets.PortfolioFilterSet
    search_fields = ("name", "description")

    def get_queryset(self):
        return portfolios_valued(super().get_queryset())

    @extend_schema(request=serializers.CashMoveSerializer, responses={200: serializers.PortfolioSerializer})
    @action(detail=True, methods=["post"])
    def cash(self, request, pk=None):
        """Deposit (positive amount) or withdraw (negative) cash; 400 naming `amount` when refused."""
        portfolio = self.get_object()
        move = serializers.CashMoveSerializer(data=request.data)
        move.is_valid(raise_exception=True)
        portfolio = services.portfolio_cash_move(
            portfolio=portfolio, amount=move.validated_data["amount"], actor=request.user
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=portfolio.pk)).data)


class PortfolioAssetViewSet(ValuedMixin, OwnedMixin, BaseModelViewSet):
    """Holdings: read, and PATCH the target allocation; quantities change through trades only."""

    queryset = PortfolioAsset.objects.all()
    serializer_class = serializers.PortfolioAssetSerializer
    filterset_class = filtersets.PortfolioAssetFilterSet
    search_fields = ("asset__symbol", "asset__name")
    owner, parent = "portfolio__user", "portfolio"
    http_method_names = ["get", "patch", "put", "head", "options"]

    def get_queryset(self):
        return holdings_valued(super().get_queryset())


class WatchlistAnalysisViewSet(TimeSeriesMixin, OwnedMixin, BaseModelViewSet):
    queryset = AIWatchlistAnalysis.objects.all()
    serializer_class = serializers.AIWatchlistAnalysisSerializer
    filterset_class = filtersets.AIWatchlistAnalysisFilterSet
    search_fields = ("summary",)
    owner, parent = "watchlist__user", "watchlist"
    ordering = ("-analysis_time",)


class PortfolioAnalysisViewSet(TimeSeriesMixin, OwnedMixin, BaseModelViewSet):
    queryset = AIPortfolioAnalysis.objects.all()
    serializer_class = serializers.AIPortfolioAnalysisSerializer
    filterset_class = filtersets.AIPortfolioAnalysisFilterSet
    search_fields = ("summary",)
    owner, parent = "portfolio__user", "portfolio"
    ordering = ("-analysis_time",)
