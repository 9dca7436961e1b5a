"""Filters for assets and candles (`?asset=BTC`, `?timeframe__in=1h,1d`, `?candle_time__gte=...`)."""

from cryptopredict.api.filters import BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import INDICATOR_FIELDS, Asset, PriceData, PriceDataArchive


class AssetFilterSet(BaseFilterSet):
    class Meta:
        model = Asset
        fields = filter_fields(Asset)


class CandleFilterSet(BaseFilterSet):
    # The indicator columns are not filters: no index serves them (as none served the JSON before).
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol", label="Asset id or symbol")
    asset_symbol = IdOrSlugFilter(field_name="asset", slug_field="symbol", ids=False, label="Asset symbol")


class PriceDataFilterSet(CandleFilterSet):
    class Meta:
        model = PriceData
        fields = filter_fields(PriceData, exclude=INDICATOR_FIELDS)


class PriceDataArchiveFilterSet(CandleFilterSet):
    class Meta:
        model = PriceDataArchive
        fields = filter_fields(PriceDataArchive, exclude=INDICATOR_FIELDS)
