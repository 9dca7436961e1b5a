"""Sector history figures from constituent candles, checked by hand."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assets.tests.factories import AssetFactory, PriceDataFactory
from sectors.models import Sector, SectorHistory
from sectors.services import sector_history_build
from sectors.tests.factories import SectorFactory, SectorMappingFactory

pytestmark = pytest.mark.django_db


def test_sector_volume_is_usd_volume_not_volume_times_price():
    """A USD pair's candle volume is in USD already; a BTC pair's is in base units."""
    btc = AssetFactory(symbol="BTC", quote_currency="USD")
    ethbtc = AssetFactory(symbol="ETHBTC", quote_currency="BTC", market_cap=None)
    day = datetime(2024, 3, 1, tzinfo=UTC)
    for asset, close, volume in ((btc, "50000", "1000000"), (ethbtc, "0.05", "10")):
        price = Decimal(close)
        PriceDataFactory(
            asset=asset,
            candle_time=day,
            open_price=price,
            high_price=price,
            low_price=price,
            close_price=price,
            volume=Decimal(volume),
        )
    sector = SectorFactory(name="Majors")
    SectorMappingFactory(asset=btc, sector=sector, weight=Decimal("60"))
    SectorMappingFactory(asset=ethbtc, sector=sector, weight=Decimal("100"))

    sector_history_build(timeframe="1d")

    # 60% of BTC's 1,000,000 USD, plus 10 ETH x 0.05 BTC x 50,000 USD per BTC.
    expected = Decimal("600000") + Decimal("25000")
    assert SectorHistory.objects.get(sector=sector, snapshot_time=day).total_volume_24h == expected
    assert Sector.objects.get(pk=sector.pk).total_volume_24h == expected
