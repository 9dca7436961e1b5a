"""Serializers for assets and candles; related objects appear as id plus a short label."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cryptopredict.api.base import BaseModelSerializer, TimeframeField
from cryptopredict.choices import Timeframe
from cryptopredict.timeframes import parse_timestamp

from ..candle_columns import CANDLE_COLUMNS
from ..models import INDICATOR_FIELDS, Asset, PriceData, PriceDataArchive
from ..services.validation import candle_errors

MAX_CANDLES = 5000  # a write
MAX_CANDLES_READ = 100_000


class AssetSerializer(BaseModelSerializer):
    class Meta:
        model = Asset
        fields = "__all__"
        # Usage counters are kept by the system.
        read_only_fields = ["access_count", "last_accessed_at", "timeframe_usage"]


class CandleRowsMixin:
    """Check a candle as the import service does (alignment to the timeframe, OHLC, ranges)."""

    def validate(self, attrs):
        merged = (
            {name: getattr(self.instance, name) for name in CANDLE_COLUMNS.values()} if self.instance else {}
        )
        merged.update(attrs)
        timeframe = attrs.get("timeframe") or getattr(self.instance, "timeframe", None)
        row = {key: merged.get(column) for key, column in CANDLE_COLUMNS.items()}
        errors = candle_errors(row, timeframe=timeframe)
        if errors:
            raise serializers.ValidationError(
                {CANDLE_COLUMNS.get(key, key): messages for key, messages in errors.items()}
            )
        return super().validate(attrs)


def _indicators_field() -> serializers.DictField:
    return serializers.DictField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="The candle's technical indicators by name (rsi_14, sma_50, ...); one still warming up"
        " is absent.",
    )


class PriceDataSerializer(CandleRowsMixin, BaseModelSerializer):
    """A candle; written through the candle service. Its indicators are derived: read-only."""

    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)
    # One object, as when they were a JSON column; stored one column each (models.INDICATOR_FIELDS).
    technical_indicators = _indicators_field()

    class Meta:
        model = PriceData
        exclude = INDICATOR_FIELDS
        read_only_fields = ("created_at", "updated_at")


class PriceDataArchiveSerializer(BaseModelSerializer):
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True)
    technical_indicators = _indicators_field()

    class Meta:
        model = PriceDataArchive
        exclude = INDICATOR_FIELDS


class CandleSerializer(serializers.Serializer):
    """One candle of `GET/POST assets/{symbol}/candles/` (asset and timeframe are in the URL)."""

    candle_time = serializers.DateTimeField(help_text="Open time, UTC, aligned to the timeframe.")
    open = serializers.DecimalField(max_digits=38, decimal_places=18, source="open_price")
    high = serializers.DecimalField(max_digits=38, decimal_places=18, source="high_price")
    low = serializers.DecimalField(max_digits=38, decimal_places=18, source="low_price")
    close = serializers.DecimalField(max_digits=38, decimal_places=18, source="close_price")
    volume = serializers.DecimalField(max_digits=38, decimal_places=8)
    trade_count = serializers.IntegerField(required=False, allow_null=True)
    vwap = serializers.DecimalField(max_digits=38, decimal_places=18, required=False, allow_null=True)
    market_cap = serializers.DecimalField(max_digits=30, decimal_places=2, required=False, allow_null=True)


class CandleReadSerializer(serializers.Serializer):
    """One candle as `GET assets/{symbol}/candles/` answers it (rendered by the database, not here)."""

    candle_time = serializers.DateTimeField(help_text="Open time, UTC, aligned to the timeframe.")
    open = serializers.FloatField(help_text="A JSON number, exact as stored, without padding.")
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.FloatField()
    trade_count = serializers.IntegerField(allow_null=True)
    vwap = serializers.FloatField(allow_null=True)
    market_cap = serializers.FloatField(allow_null=True)


@extend_schema_field(OpenApiTypes.STR)
class InstantField(serializers.Field):
    """A moment given as ISO 8601 (naive means UTC) or as an epoch number (milliseconds, or s/µs/ns)."""

    default_error_messages = {"invalid": "Give an ISO 8601 date-time or epoch milliseconds."}

    def to_internal_value(self, data):
        try:
            return parse_timestamp(data)[0]
        except (ValueError, OverflowError, OSError):
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class CandleQuerySerializer(serializers.Serializer):
    """The query of `GET assets/{symbol}/candles/`."""

    timeframe = TimeframeField(default=Timeframe.D1)
    start = InstantField(required=False, help_text="First candle time (ISO 8601 or epoch ms), inclusive.")
    end = InstantField(required=False, help_text="Last candle time (ISO 8601 or epoch ms), inclusive.")
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_CANDLES_READ,
        default=500,
        help_text="At most this many candles: the latest ones unless `start` is given. A `Link` header"
        " names the next page when there are more.",
    )
    format = serializers.ChoiceField(
        choices=["json", "compact"],
        default="json",
        help_text="`compact`: [[t_ms, open, high, low, close, volume], ...] with JSON numbers.",
    )

    def validate(self, attrs):
        if "start" in attrs and "end" in attrs and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["Must not be before start."]})
        return attrs


class RejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the rejected row in the request.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class UpsertResultSerializer(serializers.Serializer):
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = RejectionSerializer(many=True)
