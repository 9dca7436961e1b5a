"""Seeing that data is fresh: the coverage page, the exact recount, /api/health/ degraded."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.timeframes import floor_time
from marketdata.services.states import coverage_refresh
from users.tests.factories import AdminUserFactory

from .factories import KnownGapFactory, SyncStateFactory

pytestmark = pytest.mark.django_db


def current_state(asset, timeframe="1h", behind=0, **kwargs):
    """A SyncState whose last candle closed `behind` periods ago."""
    step = timedelta(hours=1) if timeframe == "1h" else timedelta(days=1)
    last = floor_time(timezone.now(), timeframe) - step * (behind + 1)
    return SyncStateFactory(asset=asset, timeframe=timeframe, last_candle_time=last, **kwargs)


def test_health_is_degraded_with_the_series_that_lag_more_than_the_setting(client, settings):
    settings.HEALTH_STALE_PERIODS = 3
    current_state(AssetFactory(symbol="BTC"))
    current_state(AssetFactory(symbol="ETH"), behind=3)  # 3 periods: not yet stale
    late = current_state(AssetFactory(symbol="ADA"), "1d", behind=5)

    body = client.get("/api/health/").json()

    assert body["status"] == "degraded"
    assert [s["series"] for s in body["stale_series"]] == ["binance ADA 1d"]
    assert body["stale_series"][0]["last_candle"] == late.last_candle_time.isoformat()
    assert body["stale_series"][0]["periods_behind"] == 5
    settings.HEALTH_STALE_PERIODS = 10
    assert client.get("/api/health/").json() == {
        "status": "ok",
        "database": "ok",
        "broker": "not configured",
        "stale_series": [],
    }


def test_the_coverage_page_shows_each_series_without_counting_candles(client, settings):
    client.force_login(AdminUserFactory())
    btc = AssetFactory(symbol="BTC")
    state = current_state(btc, candle_count=1234, last_error="binance: GET klines BTCUSDT 1h answered 500")
    KnownGapFactory(sync_state=state, missing=3)
    KnownGapFactory(sync_state=state, missing=2)
    current_state(AssetFactory(symbol="ETH"), "1d", behind=9)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:marketdata_syncstate_changelist"))

    page = response.content.decode()
    assert response.status_code == 200 and "Data coverage" in page
    assert "1234" in page and "2 (5 candles)" in page and "answered 500" in page
    assert "(stale)" in page  # ETH, 9 days behind
    assert not any("price_data" in q["sql"] for q in queries)


def test_coverage_refresh_recounts_the_series_exactly():
    btc = AssetFactory(symbol="BTC")
    state = SyncStateFactory(
        asset=btc, timeframe="1d", candle_count=99, first_candle_time=None, last_candle_time=None
    )
    candles = [PriceDataFactory(asset=btc) for _ in range(3)]
    PriceDataFactory(asset=btc, timeframe="1h")  # another series

    assert coverage_refresh() == 1

    state.refresh_from_db()
    assert state.candle_count == 3 and state.counted_at is not None
    assert (state.first_candle_time, state.last_candle_time) == (
        candles[0].candle_time,
        candles[-1].candle_time,
    )
    assert coverage_refresh() == 0
