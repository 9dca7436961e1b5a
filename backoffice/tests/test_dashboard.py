"""The dashboard on the admin's index: freshness, jobs, the latest regime, active signals."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ai.tests.factories import ModelTrainingJobFactory
from assets.models import PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory
from backoffice.selectors import data_freshness
from cryptopredict.choices import JobStatus
from cryptopredict.formatting import duration
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory
from trading.tests.factories import AITradingSignalFactory

pytestmark = pytest.mark.django_db


def test_freshness_is_the_latest_candle_per_series_in_one_query():
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    PriceDataFactory(asset=btc, timeframe="1h", candle_time=now - timedelta(hours=1))
    PriceDataFactory(asset=btc, timeframe="1h", candle_time=now - timedelta(hours=5))
    PriceDataFactory(asset=eth, timeframe="1d", candle_time=(now - timedelta(days=9)).replace(hour=0))

    with CaptureQueriesContext(connection) as queries:
        rows = data_freshness(now=now)

    assert len(queries) == 1
    assert [(r["asset"].symbol, r["timeframe"], r["latest"], r["stale"]) for r in rows] == [
        ("BTC", "1h", now - timedelta(hours=1), False),
        ("ETH", "1d", (now - timedelta(days=9)).replace(hour=0), True),
    ]


def test_index_shows_the_dashboard(admin_client):
    now = timezone.now()
    PriceDataFactory(
        asset=AssetFactory(symbol="BTC"),
        timeframe="1h",
        candle_time=now.replace(minute=0, second=0, microsecond=0),
    )
    ModelTrainingJobFactory(status=JobStatus.RUNNING, started_at=now)
    ModelTrainingJobFactory(
        status=JobStatus.FAILED,
        started_at=now - timedelta(hours=2),
        completed_at=now - timedelta(hours=1),
        error_message="no candles",
    )
    AIRegimeAnalysisFactory(metrics_snapshot=MetricsSnapshotFactory(snapshot_time=now - timedelta(days=1)))
    AITradingSignalFactory(entry_price=97457, stop_loss=90000, target_price=110000)
    AITradingSignalFactory(
        generated_at=now - timedelta(days=3), expires_at=now - timedelta(days=2)
    )  # expired

    response = admin_client.get(reverse("admin:index"))

    page = response.content.decode()
    assert "CryptoPredict back office" in page
    assert len(response.context["jobs"]["running"]) == 1 and len(response.context["jobs"]["failed"]) == 1
    assert response.context["regime"].regime == "Bull"
    assert len(response.context["signals"]) == 1
    assert "97,457" in page and "110,000" in page and "70%" in page  # entry, target, P(Bull)


def test_dashboard_panels_follow_permissions(client):
    from users.tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "freshness" not in response.context and "jobs" not in response.context


def test_duration_in_its_largest_unit():
    assert [duration(timedelta(seconds=s)) for s in (40, 600, 7200, 3 * 86400)] == [
        "40 s",
        "10 min",
        "2 h",
        "3 d",
    ]


def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_series_and_candles(admin_client):
    now = timezone.now().replace(minute=0, second=0, microsecond=0)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("admin:index")).status_code == 200
        return len(queries)

    def add_series(count: int) -> None:
        for _ in range(count):
            asset = AssetFactory()
            for timeframe in ("1h", "1d"):
                for back in range(3):
                    period = timedelta(hours=1) if timeframe == "1h" else timedelta(days=1)
                    PriceDataFactory(
                        asset=asset, timeframe=timeframe, candle_time=now.replace(hour=0) - back * period
                    )

    add_series(1)
    few = page_queries()
    add_series(8)
    assert page_queries() == few == 12  # constant: the freshness panel is one read of the view
    rows = data_freshness(now=now)
    assert len(rows) == 18
    # What the view says is what price_data says, worked out here candle by candle.
    for row in rows:
        candles = PriceData.objects.filter(asset=row["asset"], timeframe=row["timeframe"])
        assert row["latest"] == max(c.candle_time for c in candles)
