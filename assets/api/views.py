"""Assets (by id or symbol), their candles, and the live and archived candle tables."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cryptopredict.api.base import BaseModelViewSet, BaseReadOnlyModelViewSet, TimeSeriesMixin
from cryptopredict.choices import Timeframe

from .. import services
from ..filtersets import AssetFilterSet, PriceDataArchiveFilterSet, PriceDataFilterSet
from ..models import Asset, PriceData, PriceDataArchive
from ..selectors import candles_read
from .serializers import (
    CANDLE_KEYS,
    MAX_CANDLES,
    AssetSerializer,
    CandleQuerySerializer,
    CandleSerializer,
    PriceDataArchiveSerializer,
    PriceDataSerializer,
    UpsertResultSerializer,
)

CANDLE_FIELDS = list(CANDLE_KEYS.values())
COMPACT_FIELDS = ["candle_time", "open_price", "high_price", "low_price", "close_price", "volume"]


def _plain(value: Decimal) -> str:
    """Return a decimal as a string without exponent or trailing zeros (1.5, not 1.500000000000000000)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class CandleWriteQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=Timeframe.choices)


class AssetViewSet(BaseModelViewSet):
    queryset = Asset.objects.all()
    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    search_fields = ("symbol", "name", "description")
    slug_field = "symbol"
    lookup_value_regex = r"[^/]+"
    # Writing candles needs the permission to add candles, not to change the asset.
    action_models = {"candles": PriceData}
    action_codenames = {"candles": "add"}

    @extend_schema(
        methods=["GET"],
        parameters=[CandleQuerySerializer],
        responses={
            200: OpenApiResponse(
                CandleSerializer(many=True),
                "Candles, oldest first. With `format=compact`: [[t_ms, open, high, low, close, volume]].",
            )
        },
    )
    @extend_schema(
        methods=["POST"],
        parameters=[
            OpenApiParameter("timeframe", OpenApiTypes.STR, enum=Timeframe.values, required=True),
        ],
        request=CandleSerializer(many=True),
        responses={200: UpsertResultSerializer, 400: UpsertResultSerializer},
        description="Insert or update candles; good rows are stored even when others are rejected "
        "(400 only when every row is rejected).",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def candles(self, request, pk=None):
        """Return the asset's candles, or upsert a list of them (writers only)."""
        asset = self.get_object()
        if request.method == "POST":
            return self._candles_write(request, asset)
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        compact = q["format"] == "compact"
        rows = candles_read(
            asset=asset,
            timeframe=q["timeframe"],
            start=q.get("start"),
            end=q.get("end"),
            limit=q["limit"],
            fields=COMPACT_FIELDS if compact else CANDLE_FIELDS,
        )
        if compact:
            data = [
                [int(row["candle_time"].timestamp() * 1000), *(_plain(row[f]) for f in COMPACT_FIELDS[1:])]
                for row in rows
            ]
            return Response(data)
        return Response(CandleSerializer(rows, many=True).data)

    def _candles_write(self, request, asset):
        query = CandleWriteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = request.data
        if not isinstance(rows, list) or not rows:
            return Response({"non_field_errors": ["Send a non-empty JSON list of candles."]}, status=400)
        if len(rows) > MAX_CANDLES:
            return Response(
                {"non_field_errors": [f"Send at most {MAX_CANDLES} candles at a time."]}, status=400
            )
        # Rows that are not objects are rejected here; the service numbers the rest by "index".
        rejected = [
            {"index": index, "errors": {"non_field_errors": ["Each candle must be a JSON object."]}}
            for index, row in enumerate(rows)
            if not isinstance(row, dict)
        ]
        good = [
            {**{k: v for k, v in row.items() if k not in ("line", "index")}, "index": index}
            for index, row in enumerate(rows)
            if isinstance(row, dict)
        ]
        result = services.candles_upsert(asset=asset, timeframe=query.validated_data["timeframe"], rows=good)
        rejected += [{"index": r.index_or_line, "errors": r.errors} for r in result.rejected]
        body = {
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": sorted(rejected, key=lambda r: r["index"]),
        }
        stored = result.inserted + result.updated + result.unchanged
        if result.inserted or result.updated:
            counts = {key: body[key] for key in ("inserted", "updated", "unchanged")}
            self.audit("update", asset, ["candles"], timeframe=query.validated_data["timeframe"], **counts)
        return Response(body, status=status.HTTP_200_OK if stored else status.HTTP_400_BAD_REQUEST)


class PriceDataViewSet(TimeSeriesMixin, BaseModelViewSet):
    queryset = PriceData.objects.all()
    serializer_class = PriceDataSerializer
    filterset_class = PriceDataFilterSet
    ordering = ("-candle_time",)


class PriceDataArchiveViewSet(TimeSeriesMixin, BaseReadOnlyModelViewSet):
    """Archived candles are moved here by the archiving service: read-only through the API."""

    queryset = PriceDataArchive.objects.all()
    serializer_class = PriceDataArchiveSerializer
    filterset_class = PriceDataArchiveFilterSet
    ordering = ("-candle_time",)
