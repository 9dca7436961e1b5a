"""Serializers of trading signals, trades and holding analyses."""

from rest_framework import serializers

from cryptopredict.api.base import AIAnalysisSerializer, BaseModelSerializer
from cryptopredict.api.ownership import OwnedRelatedField
from selection.models import Portfolio, PortfolioAsset
from trading.models import AITradingSignal, PortfolioAssetAnalysis, TradeAction
from trading.services import signal_risk_reward


class AITradingSignalSerializer(AIAnalysisSerializer):
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)

    class Meta:
        model = AITradingSignal
        fields = "__all__"
        read_only_fields = ("risk_reward_ratio", "created_at", "updated_at")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        prices = {
            name: attrs.get(name, getattr(self.instance, name, None))
            for name in ("signal_type", "entry_price", "target_price", "stop_loss")
        }
        attrs["risk_reward_ratio"] = signal_risk_reward(**prices)
        return attrs


class TradeActionSerializer(BaseModelSerializer):
    """A trade; created (and by default executed) through trading.services, then only its notes change."""

    portfolio = OwnedRelatedField(owner="user", queryset=Portfolio.objects.alive())
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)
    execute = serializers.BooleanField(
        default=True, write_only=True, help_text="Execute now (default); false records a pending trade."
    )

    class Meta:
        model = TradeAction
        fields = "__all__"
        read_only_fields = ("user", "status", "total_value", "fee_currency", "created_at", "updated_at")
        # The (exchange, external_order_id) rule applies only when an order id is given: left to the
        # database, whose violation the API answers with 409.
        validators = []

    def validate(self, attrs):
        if self.instance is not None:
            frozen = sorted(
                name
                for name, value in attrs.items()
                if name not in ("notes", "execute") and value != getattr(self.instance, name)
            )
            if frozen:
                raise serializers.ValidationError(
                    {name: "A recorded trade cannot change; only its notes can be edited." for name in frozen}
                )
        return super().validate(attrs)


class PortfolioAssetAnalysisSerializer(AIAnalysisSerializer):
    portfolio_asset = OwnedRelatedField(
        owner="portfolio__user", queryset=PortfolioAsset.objects.filter(portfolio__deleted_at__isnull=True)
    )

    class Meta:
        model = PortfolioAssetAnalysis
        fields = "__all__"
