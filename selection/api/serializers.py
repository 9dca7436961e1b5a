"""Serializers of watchlists, portfolios, holdings and their AI analyses."""

from rest_framework import serializers

from cryptopredict.api.base import AIAnalysisSerializer, BaseModelSerializer
from cryptopredict.api.ownership import OwnedRelatedField
from selection.models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)

# Annotated by selection.selectors; money at 8 decimals, prices at 18.
MONEY_OUT = {"max_digits": None, "decimal_places": 8, "read_only": True}
PRICE_OUT = {"max_digits": None, "decimal_places": 18, "read_only": True}


class OwnedListSerializer(BaseModelSerializer):
    """A watchlist or portfolio: the owner is the requesting user; names unique among live ones."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = self.instance.user if self.instance else self.context["request"].user
        siblings = self.Meta.model.objects.alive().filter(user=user)
        if self.instance is not None:
            siblings = siblings.exclude(pk=self.instance.pk)
        noun = self.Meta.model._meta.verbose_name
        if "name" in attrs and siblings.filter(name=attrs["name"]).exists():
            raise serializers.ValidationError({"name": f"You already have a {noun} named {attrs['name']!r}."})
        if attrs.get("is_default") and siblings.filter(is_default=True).exists():
            raise serializers.ValidationError(
                {"is_default": f"You already have a default {noun}; unset it first."}
            )
        return attrs

    def create(self, validated_data):
        return super().create({**validated_data, "user": self.context["request"].user})


class WatchlistSerializer(OwnedListSerializer):
    class Meta:
        model = Watchlist
        exclude = ("deleted_at", "deleted_by")
        read_only_fields = ("user", "created_at", "updated_at")
        validators = []  # the (user, name) rule needs the user, which is not an input: see validate()


class WatchlistAssetSerializer(BaseModelSerializer):
    watchlist = OwnedRelatedField(owner="user", queryset=Watchlist.objects.alive())
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)

    class Meta:
        model = WatchlistAsset
        fields = "__all__"
        read_only_fields = ("added_by", "last_modified_by", "created_at", "updated_at")


class WatchlistDetailSerializer(WatchlistSerializer):
    """A watchlist with its items (the detail answer; lists stay one row per watchlist)."""

    items = WatchlistAssetSerializer(many=True, read_only=True)

    class Meta(WatchlistSerializer.Meta):
        pass


class PortfolioSerializer(OwnedListSerializer):
    current_value = serializers.DecimalField(**MONEY_OUT)
    unrealized_pnl = serializers.DecimalField(**MONEY_OUT)

    class Meta:
        model = Portfolio
        exclude = ("deleted_at", "deleted_by")
        # The totals are kept by the trade service; current_value and unrealized_pnl are live.
        read_only_fields = ("user", "total_value", "total_cost_basis", "created_at", "updated_at")
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # an opening balance; then trades and POST .../cash/ move it
            fields["cash_balance"].read_only = True
        return fields


class CashMoveSerializer(serializers.Serializer):
    """`POST portfolios/{id}/cash/`: a deposit (positive) or a withdrawal (negative)."""

    amount = serializers.DecimalField(max_digits=30, decimal_places=8)


class PortfolioAssetSerializer(BaseModelSerializer):
    """A holding: changed by trades only, except its target allocation."""

    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)
    current_price = serializers.DecimalField(**PRICE_OUT, allow_null=True)
    current_value = serializers.DecimalField(**MONEY_OUT)
    unrealized_pnl = serializers.DecimalField(**MONEY_OUT)

    class Meta:
        model = PortfolioAsset
        fields = "__all__"
        read_only_fields = (
            "portfolio",
            "asset",
            "quantity",
            "average_buy_price",
            "cost_basis",
            "realized_pnl",
            "first_purchase_at",
            "last_transaction_at",
            "created_at",
            "updated_at",
        )


class AIWatchlistAnalysisSerializer(AIAnalysisSerializer):
    watchlist = OwnedRelatedField(owner="user", queryset=Watchlist.objects.alive())

    class Meta:
        model = AIWatchlistAnalysis
        fields = "__all__"


class AIPortfolioAnalysisSerializer(AIAnalysisSerializer):
    portfolio = OwnedRelatedField(owner="user", queryset=Portfolio.objects.alive())

    class Meta:
        model = AIPortfolioAnalysis
        fields = "__all__"
