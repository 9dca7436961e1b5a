"""Serializers for sectors (layer 2): related sectors and assets appear as id plus slug / symbol."""

from rest_framework import serializers

from cryptopredict.api.base import AIAnalysisSerializer, BaseModelSerializer

from ..models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)
from ..services import sector_mapping_weight_error


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
        error = sector_mapping_weight_error(
            asset=asset, weight=weight, mapping_id=getattr(self.instance, "pk", None)
        )
        if error:
            raise serializers.ValidationError({"weight": [error]})
        return super().validate(attrs)


class AISectorAnalysisSerializer(AIAnalysisSerializer):
    sector_slug = serializers.CharField(source="sector.slug", read_only=True)

    class Meta:
        model = AISectorAnalysis
        fields = "__all__"


class AICrossSectorAnalysisSerializer(AIAnalysisSerializer):
    class Meta:
        model = AICrossSectorAnalysis
        fields = "__all__"


class SectorRotationFlowSerializer(BaseModelSerializer):
    from_sector_slug = serializers.CharField(source="from_sector.slug", read_only=True)
    to_sector_slug = serializers.CharField(source="to_sector.slug", read_only=True)

    class Meta:
        model = SectorRotationFlow
        fields = "__all__"
