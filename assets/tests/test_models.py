from datetime import time
from decimal import Decimal

import pytest

from assets.models import Asset, PriceData, PriceDataArchive
from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory

pytestmark = pytest.mark.django_db


def test_candle_factory_gives_distinct_day_aligned_candles():
    asset = AssetFactory()
    candles = PriceDataFactory.create_batch(3, asset=asset)
    times = [candle.candle_time for candle in candles]
    assert len(set(times)) == 3
    assert all(t.time() == time(0) and t.utcoffset().total_seconds() == 0 for t in times)


def test_sub_satoshi_prices_are_stored_exactly():
    # SHIB has traded at 5.7e-11, below the 8 decimals of the plan's Numeric(20, 8).
    tiny = Decimal("0.000000000057")
    candle = PriceDataFactory(
        open_price=tiny, high_price=tiny * 2, low_price=tiny, close_price=tiny, volume=Decimal("0.00123")
    )
    candle.refresh_from_db()
    assert (candle.low_price, candle.high_price, candle.volume) == (tiny, tiny * 2, Decimal("0.00123"))


def test_deleting_an_asset_deletes_its_candles():
    candle = PriceDataFactory()
    PriceDataArchiveFactory(asset=candle.asset)
    candle.asset.delete()
    assert not PriceData.objects.exists()
    assert not PriceDataArchive.objects.exists()


def test_assets_are_ordered_by_rank_with_unranked_last():
    AssetFactory(symbol="ZZZ", market_cap_rank=None)
    AssetFactory(symbol="AAA", market_cap_rank=None)
    AssetFactory(symbol="BTC", market_cap_rank=1)
    AssetFactory(symbol="ETH", market_cap_rank=2)
    assert list(Asset.objects.values_list("symbol", flat=True)) == ["BTC", "ETH", "AAA", "ZZZ"]
