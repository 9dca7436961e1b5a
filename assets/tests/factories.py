"""Factories for the assets app: assets and their candles, live and archived."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from assets.choices import AssetType
from assets.models import Asset, AssetDeletion, IndicatorState, LatestCandle, PriceData, PriceDataArchive
from cryptopredict.aggregates import aggregates_refresh
from cryptopredict.choices import Timeframe

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    symbol = factory.Sequence(lambda n: f"TK{n:03d}")
    name = factory.Sequence(lambda n: f"Token {n}")
    asset_type = AssetType.CRYPTO
    quote_currency = "USD"
    external_ids = factory.LazyAttribute(lambda o: {"coingecko": o.symbol.lower()})
    market_cap = Decimal("1000000.00")
    market_cap_rank = factory.Sequence(lambda n: n + 1)
    current_price = Decimal("100")
    total_volume = Decimal("50000.00")
    circulating_supply = Decimal("10000")
    total_supply = Decimal("15000")
    max_supply = Decimal("21000")


class PriceDataFactory(factory.django.DjangoModelFactory):
    """A daily candle; each row opens one day after the previous one (aligned to 00:00 UTC)."""

    class Meta:
        model = PriceData

    asset = factory.SubFactory(AssetFactory)
    timeframe = Timeframe.D1
    candle_time = factory.Sequence(lambda n: EPOCH + timedelta(days=n))
    open_price = Decimal("100")
    high_price = Decimal("110")
    low_price = Decimal("95")
    close_price = Decimal("105")
    volume = Decimal("1234.5")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        """Refresh the latest-candle view as the candle service has it refreshed after its commit
        (a test's transaction never commits)."""
        super()._after_postgeneration(instance, create, results)
        if create and cls._meta.model is PriceData:
            aggregates_refresh(views=[LatestCandle.VIEW])


class PriceDataArchiveFactory(PriceDataFactory):
    class Meta:
        model = PriceDataArchive


class IndicatorStateFactory(factory.django.DjangoModelFactory):
    """A series' indicator watermark with a stale range noted."""

    class Meta:
        model = IndicatorState

    asset = factory.SubFactory(AssetFactory)
    timeframe = Timeframe.D1
    stale_from = EPOCH
    stale_until = EPOCH + timedelta(days=3)


class AssetDeletionFactory(factory.django.DjangoModelFactory):
    """A queued deletion of a new asset with 10 candles to go."""

    class Meta:
        model = AssetDeletion

    asset = factory.SubFactory(AssetFactory)
    symbol = factory.SelfAttribute("asset.symbol")
    candles_total = 10
