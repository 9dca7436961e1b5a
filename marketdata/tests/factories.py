"""Factories for the market data sync."""

from datetime import UTC, datetime, timedelta

import factory

from assets.tests.factories import AssetFactory
from cryptopredict.choices import Timeframe
from marketdata.models import KnownGap, SyncState

T = datetime(2025, 1, 1, tzinfo=UTC)


class SyncStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncState

    source = "binance"
    asset = factory.SubFactory(AssetFactory)
    timeframe = Timeframe.H1
    first_candle_time = T
    last_candle_time = T + timedelta(hours=99)
    candle_count = 100


class KnownGapFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnownGap

    sync_state = factory.SubFactory(SyncStateFactory)
    start = factory.Sequence(lambda n: T + timedelta(hours=10 + n))
    end = factory.LazyAttribute(lambda o: o.start)
    missing = 1
