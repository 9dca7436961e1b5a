"""The repeated reads are QuerySet methods: PriceData.objects.series and Asset.objects.tracked."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assets.choices import AssetType
from assets.models import Asset, PriceData, PriceDataArchive
from assets.tests.factories import AssetFactory, PriceDataFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, tzinfo=UTC)
# A candle series spelled as a filter chain instead of .series().
A_CHAIN = re.compile(
    r"(PriceData|PriceDataArchive|model)\.objects\.filter\(\s*asset(_id)?=[^,]+,\s*timeframe="
)


def test_series_is_one_asset_in_one_timeframe():
    btc, eth = AssetFactory(), AssetFactory()
    wanted = [
        PriceDataFactory(asset=btc, timeframe="1d", candle_time=T0 + timedelta(days=d)) for d in range(3)
    ]
    PriceDataFactory(asset=btc, timeframe="1h", candle_time=T0)
    PriceDataFactory(asset=eth, timeframe="1d", candle_time=T0)
    for asset in (btc, btc.pk):
        assert sorted(PriceData.objects.series(asset, "1d"), key=lambda c: c.candle_time) == wanted
    assert not PriceDataArchive.objects.series(btc, "1d").exists()


def test_tracked_assets_are_active_supported_crypto_and_stablecoins():
    crypto, stable = AssetFactory(), AssetFactory(asset_type=AssetType.STABLECOIN)
    AssetFactory(is_active=False)
    AssetFactory(is_supported=False)
    AssetFactory(asset_type=AssetType.INDEX)
    assert set(Asset.objects.tracked()) == {crypto, stable}


def test_no_module_spells_a_series_as_a_filter_chain():
    chains = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == ".venv" or "tests" in relative.parts or relative == Path("assets/models.py"):
            continue
        text = path.read_text(encoding="utf-8")
        chains += [
            f"{relative}: {match[0]}" for match in A_CHAIN.finditer(text) if "AlertRule" not in match[0]
        ]
    assert chains == []
