"""Assets (by id or symbol), their candles, and the live and archived candle tables."""

from django.db import transaction
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cryptopredict.api.base import BaseModelViewSet, BaseReadOnlyModelViewSet, TimeframeField, TimeSeriesMixin
from cryptopredict.api.filters import IndexedOrderingFilter
from cryptopredict.choices import Timeframe

from .. import candle_cache
from ..filtersets import AssetFilterSet, PriceDataArchiveFilterSet, PriceDataFilterSet
from ..models import Asset, PriceData, PriceDataArchive
from ..selectors import candle_orderings, candles_page
from ..services.writing import candle_create, candle_delete, candle_update, candles_upsert
from .serializers import (
    MAX_CANDLES,
    AssetSerializer,
    CandleQuerySerializer,
    CandleReadSerializer,
    CandleSerializer,
    PriceDataArchiveSerializer,
    PriceDataSerializer,
    UpsertResultSerializer,
)


class CandleWriteQuerySerializer(serializers.Serializer):
    timeframe = TimeframeField()


class AssetViewSet(BaseModelViewSet):
    queryset = Asset.objects.all()
    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    search_fields = ("symbol", "name", "description")
    slug_field = "symbol"
    lookup_url_kwarg = "symbol"  # /assets/{symbol}/: the id works there too
    lookup_value_regex = r"[^/]+"
    # Writing candles needs the permission to add candles, not to change the asset.
    action_models = {"candles": PriceData}
    action_codenames = {"candles": "add"}

    @extend_schema(
        methods=["GET"],
        parameters=[CandleQuerySerializer],
        responses={
            200: OpenApiResponse(
                CandleReadSerializer(many=True),
                "Candles, oldest first; prices and volumes are JSON numbers, exact and without padding."
                " With `format=compact`: [[t_ms, open, high, low, close, volume], ...]. When more"
                ' candles follow, a `Link: <url>; rel="next"` header names the next page (forward'
                " from `start`, or back from the latest when `start` is not given).",
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
    def candles(self, request, symbol=None):
        """Return the asset's candles, or upsert a list of them (writers only)."""
        asset = self.get_object()
        if request.method == "POST":
            return self._candles_write(request, asset)
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self._candles_read(request, asset, query.validated_data)

    def _candles_read(self, request, asset, q: dict) -> HttpResponse:
        """Answer one page of candles, rendered by the database, from the cache when it is hot."""
        compact = q["format"] == "compact"
        key = (q["timeframe"], q.get("start"), q.get("end"), q["limit"], compact)
        page = candle_cache.page_get(asset.pk, key)
        if page is None:
            page = candles_page(
                asset=asset,
                timeframe=q["timeframe"],
                start=q.get("start"),
                end=q.get("end"),
                limit=q["limit"],
                compact=compact,
            )
            candle_cache.page_set(asset.pk, key, page)
        response = HttpResponse(page.body, content_type="application/json")
        if page.next_time is not None:
            # Reading forward the next page starts at the next candle; reading back it ends there.
            params = request.query_params.copy()
            params["start" if q.get("start") is not None else "end"] = page.next_time.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            response["Link"] = (
                f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"'
            )
        return response

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
        result = candles_upsert(asset=asset, timeframe=query.validated_data["timeframe"], rows=good)
        rejected += [{"index": r.line, "errors": r.errors} for r in result.rejected]
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


class CandleListMixin(TimeSeriesMixin):
    """A candle table's list: cursor pages, orderings only where an index serves the filters."""

    filter_backends = [DjangoFilterBackend, IndexedOrderingFilter]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.ordering_fields = candle_orderings(cls.queryset.model, filtered=False)

    def orderings(self, request) -> tuple[str, ...]:
        """Return the orderings offered for this request's filters (see `candle_orderings`)."""
        filters = self.filterset_class.base_filters
        filtered = any(value for key, value in request.query_params.items() if key in filters)
        return candle_orderings(self.queryset.model, filtered=filtered)


class PriceDataViewSet(CandleListMixin, BaseModelViewSet):
    """`price-data/`: every write goes through the candle service, so a changed candle loses its
    validation and its indicators, and they and the later candles' are computed again."""

    queryset = PriceData.objects.all()
    serializer_class = PriceDataSerializer
    filterset_class = PriceDataFilterSet
    ordering = ("-candle_time",)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        with transaction.atomic():
            candle = candle_create(
                asset=data.pop("asset"),
                timeframe=data.pop("timeframe"),
                candle_time=data.pop("candle_time"),
                **data,
            )
            self.audit("create", candle, serializer.validated_data)
        serializer.instance = candle

    def perform_update(self, serializer):
        before = {name: getattr(serializer.instance, name) for name in serializer.validated_data}
        with transaction.atomic():
            candle = candle_update(candle=serializer.instance, changes=serializer.validated_data)
            self.audit(
                "update", candle, [name for name, value in before.items() if getattr(candle, name) != value]
            )
        serializer.instance = candle

    def perform_destroy(self, instance):
        with transaction.atomic():
            self.audit("delete", instance)
            candle_delete(candle=instance)


class PriceDataArchiveViewSet(CandleListMixin, BaseReadOnlyModelViewSet):
    """Archived candles are moved here by the archiving service: read-only through the API."""

    queryset = PriceDataArchive.objects.all()
    serializer_class = PriceDataArchiveSerializer
    filterset_class = PriceDataArchiveFilterSet
    ordering = ("-candle_time",)
