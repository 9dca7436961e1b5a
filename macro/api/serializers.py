"""Serializers for market snapshots (layer 1 input) and regime analyses (layer 1 output)."""

from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from cryptopredict.api.base import AIAnalysisSerializer, BaseModelSerializer

from ..choices import MarketRegime
from ..models import AIRegimeAnalysis, MetricsSnapshot

PROBABILITY_TOLERANCE = Decimal("0.01")


class MetricsSnapshotSerializer(BaseModelSerializer):
    class Meta:
        model = MetricsSnapshot
        fields = "__all__"


class AIRegimeAnalysisSerializer(AIAnalysisSerializer):
    snapshot_time = serializers.DateTimeField(source="metrics_snapshot.snapshot_time", read_only=True)

    class Meta:
        model = AIRegimeAnalysis
        fields = "__all__"

    def validate_regime_probabilities(self, value):
        """Require regime -> probability in [0, 1], summing to 1 within 0.01 (or nothing)."""
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object of regime -> probability.")
        if not value:
            return value
        unknown = sorted(set(value) - set(MarketRegime.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown regimes: {', '.join(unknown)}.")
        try:
            numbers = [Decimal(str(p)) for p in value.values()]
        except InvalidOperation:
            raise serializers.ValidationError("Probabilities must be numbers.") from None
        if any(not 0 <= p <= 1 for p in numbers):
            raise serializers.ValidationError("Each probability must be between 0 and 1.")
        if abs(sum(numbers) - 1) > PROBABILITY_TOLERANCE:
            raise serializers.ValidationError(f"Probabilities sum to {sum(numbers)}, not 1.")
        return value
