"""Trading signals (market data: everyone reads, writers write), trades and holding analyses (owners)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from cryptopredict.api.base import BaseModelViewSet, TimeSeriesMixin
from cryptopredict.api.ownership import OwnedMixin
from trading import filtersets, services
from trading.choices import TradeStatus
from trading.models import AITradingSignal, PortfolioAssetAnalysis, TradeAction

from . import serializers


class AITradingSignalViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = AITradingSignal.objects.all()
    serializer_class = serializers.AITradingSignalSerializer
    filterset_class = filtersets.AITradingSignalFilterSet
    search_fields = ("asset__symbol",)
    ordering = ("-generated_at",)


class TradeActionViewSet(TimeSeriesMixin, OwnedMixin, BaseModelViewSet):
    """`trade-actions/`: POST records a trade and executes it (unless `execute` is false) through
    trading.services; `execute/` runs a pending one. Recorded trades keep their figures: only notes
    change, and only pending trades can be deleted."""

    queryset = TradeAction.objects.all()
    serializer_class = serializers.TradeActionSerializer
    filterset_class = filtersets.TradeActionFilterSet
    search_fields = ("notes", "asset__symbol", "exchange", "external_order_id")
    owner, parent = "portfolio__user", "portfolio"
    ordering = ("-id",)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.trade_action_create(
            user=self.request.user,
            actor=self.request.user,
            portfolio=data.pop("portfolio"),
            asset=data.pop("asset"),
            **{name: data[name] for name in SERVICE_ARGUMENTS if name in data},
        )

    def perform_destroy(self, instance):
        if instance.status == TradeStatus.EXECUTED:
            raise drf_serializers.ValidationError(
                {"status": "An executed trade cannot be deleted; record the opposite trade instead."}
            )
        super().perform_destroy(instance)

    @extend_schema(request=None, responses={200: serializers.TradeActionSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        """Execute a pending trade: the holding, the cash and the totals change together."""
        trade = services.trade_action_execute(trade=self.get_object(), actor=request.user)
        return Response(self.get_serializer(trade).data, status=status.HTTP_200_OK)


SERVICE_ARGUMENTS = (
    "action_type",
    "quantity",
    "price",
    "fee",
    "executed_at",
    "execute",
    "signal",
    "exchange",
    "external_order_id",
    "notes",
)


class PortfolioAssetAnalysisViewSet(TimeSeriesMixin, OwnedMixin, BaseModelViewSet):
    queryset = PortfolioAssetAnalysis.objects.all()
    serializer_class = serializers.PortfolioAssetAnalysisSerializer
    filterset_class = filtersets.PortfolioAssetAnalysisFilterSet
    search_fields = ("summary",)
    owner, parent = "portfolio_asset__portfolio__user", "portfolio_asset__portfolio"
    ordering = ("-analysis_time",)
