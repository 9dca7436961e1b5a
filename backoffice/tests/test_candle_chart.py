"""The asset page's candle chart data: one window at a time, with indicators, signals and regimes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory
from trading.tests.factories import AITradingSignalFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)


def chart_url(asset):
    return reverse("admin:chart_candles", args=[asset.pk])


@pytest.fixture
def btc():
    asset = AssetFactory(symbol="BTC")
    for day in range(10):
        PriceDataFactory(
            asset=asset,
            candle_time=DAY0 + timedelta(days=day),
            close_price=Decimal(100 + day),
            high_price=Decimal(120),
            **({"rsi_14": 40 + day, "sma_50": 99.5} if day >= 5 else {}),
        )
    PriceDataFactory(asset=asset, timeframe="1h", candle_time=DAY0)
    return asset


def test_latest_window_with_indicators_signals_and_regimes(admin_client, btc):
    PriceDataArchiveFactory(asset=btc, candle_time=DAY0 - timedelta(days=1), close_price=Decimal(99))
    AITradingSignalFactory(asset=btc, generated_at=DAY0 + timedelta(days=8))
    AITradingSignalFactory(asset=AssetFactory(), generated_at=DAY0 + timedelta(days=8))  # another asset
    before = AIRegimeAnalysisFactory(
        metrics_snapshot=MetricsSnapshotFactory(snapshot_time=DAY0 - timedelta(days=30))
    )
    AIRegimeAnalysisFactory(
        ai_model=before.ai_model,
        metrics_snapshot=MetricsSnapshotFactory(snapshot_time=DAY0 + timedelta(days=3)),
        regime="Bear",
    )

    body = admin_client.get(chart_url(btc), {"limit": 5}).json()

    assert body["timeframe"] == "1d" and body["timeframes"] == ["1h", "1d"]
    times = [candle[0] for candle in body["candles"]]
    assert times == [int((DAY0 + timedelta(days=d)).timestamp()) for d in range(5, 10)]
    assert body["candles"][-1][1:5] == [100.0, 120.0, 95.0, 109.0]
    assert body["more"] is True
    assert [value for _, value in body["indicators"]["rsi_14"]] == [45, 46, 47, 48, 49]
    assert [s["entry"] for s in body["signals"]] == [100.0]
    # The regime in force when the window opens, then the calls inside it.
    assert [r["regime"] for r in body["regimes"]] == ["Bear"]

    older = admin_client.get(chart_url(btc), {"limit": 5, "end": times[0] - 1}).json()
    assert [c[0] for c in older["candles"]] == [
        int((DAY0 + timedelta(days=d)).timestamp()) for d in range(0, 5)
    ]
    oldest = admin_client.get(chart_url(btc), {"limit": 5, "end": older["candles"][0][0] - 1}).json()
    assert [c[4] for c in oldest["candles"]] == [99.0] and oldest["more"] is False  # the archive too


def test_queries_do_not_grow_with_the_window(admin_client, btc):
    with CaptureQueriesContext(connection) as small:
        admin_client.get(chart_url(btc), {"limit": 2})
    with CaptureQueriesContext(connection) as large:
        admin_client.get(chart_url(btc), {"limit": 10})
    assert len(small) == len(large)


def test_bad_query_is_a_400_naming_the_field(admin_client, btc):
    response = admin_client.get(chart_url(btc), {"limit": 100000, "timeframe": "7x"})
    assert response.status_code == 400
    assert set(response.json()) == {"limit", "timeframe"}


def test_needs_view_permission_on_candles(client, btc):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(chart_url(btc)).status_code == 403
    assert client.get(reverse("admin:chart_candles", args=[10**9])).status_code in (403, 404)
