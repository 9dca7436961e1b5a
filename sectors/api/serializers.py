"""Serializers for sectors (layer 2): related sectors and assets appear as id plus slug / symbol."""

from decimal import Decimal

from django.db.models import Sum
from rest_framework import serializers

from cryptopredict.api.base import BaseModelSerializer

from ..models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)

MAX_TOTAL_WEIGHT = Decimal(100)


class SectorSerializer(BaseModelSerializer):
    parent_slug = serializers.CharField(source="parent.slug", read_only=True, default=None)

    class Meta:
        model = Sector
        fields = "__all__"
        # Cached totals, recomputed from the mappings and candles.
        read_only_fields = ["total_market_cap", "total_volume_24h", "asset_count"]

    def validate_parent(self, parent):
        """Refuse a parent that is this sector or one of its descendants (a cycle)."""
        if parent is None or self.instance is None:
            return parent
        seen = set()
        node = parent
        while node is not None and node.pk not in seen:
            if node.pk == self.instance.pk:
                raise serializers.ValidationError("A sector cannot be its own ancestor.")
            seen.add(node.pk)
            node = node.parent
        return parent


class SectorHistorySerializer(BaseModelSerializer):
    sector_slug = serializers.CharField(source="sector.slug", read_only=True)

    class Meta:
        model = SectorHistory
        fields = "__all__"


class SectorMappingSerializer(BaseModelSerializer):
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)
    sector_slug = serializers.CharField(source="sector.slug", read_only=True)

    class Meta:
        model = SectorMapping
        fields = "__all__"
        read_only_fields = ["added_by", "last_modified_by"]

    def validate(self, attrs):
        asset = attrs.get("asset", getattr(self.instance, "asset", None))
        weight = attrs.get(
            "weight", getattr(self.instance, "weight", SectorMapping._meta.get_field("weight").default)
        )
        others = SectorMapping.objects.filter(asset=asset)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        total = (others.aggregate(total=Sum("weight"))["total"] or 0) + Decimal(weight)
        if total > MAX_TOTAL_WEIGHT:
            raise serializers.ValidationError(
                {"weight": [f"The asset's sector weights would sum to {total}; at most 100 is allowed."]}
            )
        return super().validate(attrs)


class AnalysisSerializer(BaseModelSerializer):
    ai_model_name = serializers.CharField(source="ai_model.name", read_only=True)


class AISectorAnalysisSerializer(AnalysisSerializer):
    sector_slug = serializers.CharField(source="sector.slug", read_only=True)

    class Meta:
        model = AISectorAnalysis
        fields = "__all__"


class AICrossSectorAnalysisSerializer(AnalysisSerializer):
    class Meta:
        model = AICrossSectorAnalysis
        fields = "__all__"


class SectorRotationFlowSerializer(BaseModelSerializer):
    from_sector_slug = serializers.CharField(source="from_sector.slug", read_only=True)
    to_sector_slug = serializers.CharField(source="to_sector.slug", read_only=True)

    class Meta:
        model = SectorRotationFlow
        fields = "__all__"
