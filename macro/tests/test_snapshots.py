"""build_snapshots checked against values worked out by hand on small, regular series."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.choices import AssetType
from assets.models import PriceData
from assets.tests.factories import AssetFactory
from assets.tests.test_indicators import candles_create
from macro.derivations import halving_countdown
from macro.models import MetricsSnapshot
from macro.services.fields import DERIVED_FIELDS, MetricsError
from macro.services.metrics_import import metrics_import
from macro.services.snapshots import snapshots_build

pytestmark = pytest.mark.django_db

DAYS = 210
LAST = datetime(2024, 1, 1, tzinfo=UTC)  # every market's last candle opens 2024-01-01
START = LAST - timedelta(days=DAYS - 1)


def market(*, days: int = DAYS) -> dict:
    """Store a small market: BTC rising by 1 a day from 100, ETH = 2 x BTC, SOL falling from 500.

    Caps: BTC 600, ETH 300, USDT 100 (a stablecoin, counted in caps only). An inactive asset
    and an index carry caps and prices that must not count.
    """
    assets = {
        "BTC": AssetFactory(symbol="BTC"),
        "ETH": AssetFactory(symbol="ETH"),
        "SOL": AssetFactory(symbol="SOL"),
        "USDT": AssetFactory(symbol="USDT", asset_type=AssetType.STABLECOIN),
        "OLD": AssetFactory(symbol="OLD", is_active=False),
        "SPX": AssetFactory(symbol="SPX", asset_type=AssetType.INDEX),
    }
    btc = [Decimal(100 + i) for i in range(days)]
    series = {
        "BTC": (btc, Decimal(600)),
        "ETH": ([2 * close for close in btc], Decimal(300)),
        "SOL": ([Decimal(500 - i) for i in range(days)], None),
        "USDT": ([Decimal(1)] * days, Decimal(100)),
        "OLD": ([Decimal(10 + i) for i in range(days)], Decimal(5000)),
        "SPX": ([Decimal(5000 - i) for i in range(days)], Decimal(9000)),
    }
    start = LAST - timedelta(days=days - 1)
    for symbol, (closes, cap) in series.items():
        candles_create(assets[symbol], closes, start=start, caps=[cap] * days if cap else None)
    return assets


def snapshot(moment: datetime = LAST) -> MetricsSnapshot:
    return MetricsSnapshot.objects.get(snapshot_time=moment, timeframe="1d")


def test_fields_equal_hand_computed_values(django_assert_max_num_queries):
    market()
    with django_assert_max_num_queries(12):
        counts = snapshots_build()
    assert (counts.created, counts.updated, counts.unchanged) == (DAYS, 0, 0)

    last = snapshot()
    assert last.btc_price_usd == 309  # 100 + 209
    assert last.rsi_14 == 100  # no down day: Wilder's RSI is 100
    assert last.sma_200 == Decimal("209.5")  # mean of 110..309
    # EMA-200 is seeded with the SMA of 100..299 = 199.5 = 299 - 99.5, which is a linear series'
    # steady lag (1 - k) / k with k = 2 / 201; so it stays close - 99.5.
    assert last.ema_200 == Decimal("209.5")
    assert last.weekly_return == Decimal("0.0232")  # 309 / 302 - 1 = 0.023179
    assert last.monthly_return == Decimal("0.1075")  # 309 / 279 - 1 = 0.107527
    assert last.btc_eth_correlation_30d == 1  # ETH = 2 x BTC: identical log returns
    assert (last.btc_dominance, last.eth_dominance, last.altcoin_dominance) == (60, 30, 10)
    assert last.total_market_cap == 1000  # OLD (inactive) and SPX (an index) are left out
    assert last.halving_countdown_days == 110  # 2024-01-01 -> 2024-04-20
    # BTC and ETH close above their SMA-50, SOL below: 2 of 3 crypto assets (USDT is a stablecoin).
    assert last.crypto_market_breadth == Decimal("66.67")
    assert (last.new_highs_24h, last.new_lows_24h) == (2, 1)
    # Mean of 100 x (close / SMA-50 - 1): BTC 309 / 284.5, ETH the same, SOL 291 / 315.5.
    momentum = 100 * (2 * (309 / 284.5 - 1) + (291 / 315.5 - 1)) / 3
    assert last.momentum_index == Decimal(f"{momentum:.4f}") == Decimal("3.1526")
    assert last.data_source == "derived"
    assert last.data_quality_flags == {"missing_market_cap": ["SOL"]}  # tracked, no cap: not in the total
    assert not last.has_anomalies
    assert last.snapshot_version == "derived-1"
    assert last.data_collection_started <= last.data_collection_completed
    assert last.collection_duration_ms >= 0


def test_warm_up_leaves_fields_empty():
    market()
    snapshots_build()
    first = snapshot(START)
    assert first.btc_price_usd == 100
    empty = ["rsi_14", "sma_200", "ema_200", "weekly_return", "monthly_return", "btc_eth_correlation_30d"]
    empty += ["crypto_market_breadth", "new_highs_24h", "new_lows_24h", "momentum_index"]
    assert all(getattr(first, name) is None for name in empty)
    assert first.btc_dominance == 60
    assert snapshot(START + timedelta(days=7)).weekly_return == Decimal("0.0700")  # 107 / 100 - 1
    assert snapshot(START + timedelta(days=198)).sma_200 is None
    assert snapshot(START + timedelta(days=199)).sma_200 == Decimal("199.5")


def test_missing_data_is_flagged_or_null():
    assets = market(days=60)
    moment = LAST
    # USDT's last candle has no market cap: dominance among what is known, and a flag.
    PriceData.objects.filter(asset=assets["USDT"], candle_time=moment).update(market_cap=None)
    # Seven missing ETH days inside the last 30 leave too few return pairs for a correlation.
    PriceData.objects.filter(asset=assets["ETH"], candle_time__gte=moment - timedelta(days=7)).exclude(
        candle_time=moment
    ).delete()
    snapshots_build()
    last = snapshot(moment)
    assert last.data_quality_flags == {"missing_market_cap": ["SOL", "USDT"]}
    assert last.btc_dominance == Decimal("66.67")  # 600 / 900
    assert last.total_market_cap == 900
    assert last.btc_eth_correlation_30d is None
    assert snapshot(moment - timedelta(days=8)).btc_eth_correlation_30d == 1


def test_out_of_range_values_become_null_with_a_flag():
    btc = AssetFactory(symbol="BTC")
    candles_create(btc, [Decimal(1)] * 7 + [Decimal(20)], start=LAST)
    snapshots_build()
    jump = snapshot(LAST + timedelta(days=7))
    assert jump.weekly_return is None  # 20 / 1 - 1 = 19 does not fit decimal(5,4)
    assert jump.has_anomalies
    assert "weekly_return" in jump.data_quality_flags
    assert jump.btc_dominance is None  # no market caps at all


def test_halving_countdown_dates():
    times = pd.DatetimeIndex(["2012-01-01", "2016-07-09", "2016-07-10", "2024-04-21", "2028-04-16"], tz="UTC")
    assert halving_countdown(times).tolist()[:4] == [332, 0, 1401, 1455]
    assert pd.isna(halving_countdown(times).iloc[4])


def test_rebuild_keeps_external_and_imported_fields_and_is_idempotent(tmp_path):
    market()
    existing = MetricsSnapshot.objects.create(
        snapshot_time=LAST, timeframe="1d", btc_price_usd=Decimal(1), fear_greed_index=Decimal(55), rsi_14=1
    )
    path = tmp_path / "metrics.csv"
    path.write_text("snapshot_time,sp500,btc_dominance\n2024-01-01,4700.5,52.5\n")
    metrics_import(path=path)

    first = snapshots_build()
    assert (first.created, first.updated) == (DAYS - 1, 1)
    last = snapshot()
    assert last.pk == existing.pk
    assert (last.fear_greed_index, last.sp500) == (55, Decimal("4700.50"))
    assert last.btc_dominance == Decimal("52.5")  # imported: the import's, not the derived 60
    assert (last.btc_price_usd, last.rsi_14, last.eth_dominance) == (309, 100, 30)  # derived
    assert last.data_source == "merged"
    assert snapshot(START).data_source == "derived"

    def state():
        rows = MetricsSnapshot.objects.order_by("snapshot_time")
        return list(rows.values_list(*DERIVED_FIELDS, "fear_greed_index", "sp500", "data_quality_flags"))

    before = state()
    again = snapshots_build()
    assert (again.created, again.updated, again.unchanged) == (0, 0, DAYS)
    assert state() == before
    assert MetricsSnapshot.objects.count() == DAYS


def test_since_limits_periods_but_not_history():
    market()
    snapshots_build()
    full = MetricsSnapshot.objects.values_list("snapshot_time", *DERIVED_FIELDS).order_by("snapshot_time")
    full = list(full)
    MetricsSnapshot.objects.all().delete()

    counts = snapshots_build(since=date(2023, 12, 25))
    assert counts.created == 8
    again = MetricsSnapshot.objects.values_list("snapshot_time", *DERIVED_FIELDS).order_by("snapshot_time")
    assert list(again) == full[-8:]


def test_errors_are_clear():
    with pytest.raises(MetricsError, match="no asset with symbol BTC"):
        snapshots_build()
    AssetFactory(symbol="BTC")
    with pytest.raises(MetricsError, match="no BTC 1h candles"):
        snapshots_build(timeframe="1h")
    with pytest.raises(MetricsError, match="unknown timeframe '2d'"):
        snapshots_build(timeframe="2d")


def test_command(capsys):
    with pytest.raises(CommandError, match="no asset with symbol BTC") as error:
        call_command("build_snapshots")
    assert error.value.returncode == 1
    with pytest.raises(CommandError, match="not a date") as error:
        call_command("build_snapshots", "--since", "yesterday")
    assert error.value.returncode == 2

    market(days=20)
    call_command("build_snapshots", "--timeframe", "1d", "--since", "2024-01-01")
    assert "1d snapshots: 1 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    call_command("build_snapshots")
    assert "1d snapshots: 19 created, 0 updated, 1 unchanged" in capsys.readouterr().out


def test_untracked_btc_still_gives_price_and_trend_but_no_market_wide_fields():
    candles_create(
        AssetFactory(symbol="BTC", is_active=False), [Decimal(100 + i) for i in range(60)], start=START
    )
    assert snapshots_build().created == 60
    last = snapshot(START + timedelta(days=59))
    assert (last.btc_price_usd, last.rsi_14, last.weekly_return) == (159, 100, Decimal("0.0461"))  # 159 / 152
    market_wide = [
        "btc_dominance",
        "total_market_cap",
        "crypto_market_breadth",
        "new_highs_24h",
        "momentum_index",
    ]
    assert all(getattr(last, name) is None for name in market_wide)


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_real_btc_and_eth_history():
    """The shipped CoinGecko daily exports, 2013 to 2025, loaded as seed_demo does."""
    from django.conf import settings

    from assets.indicators import indicators_compute
    from assets.services.importing import candles_import

    for symbol in ("BTC", "ETH"):
        path = settings.BASE_DIR / "data" / "demo" / f"coingecko_{symbol.lower()}-usd-max.csv"
        candles_import(path=path, asset=AssetFactory(symbol=symbol), timeframe="1d")
    indicators_compute()
    counts = snapshots_build()

    assert counts.created == PriceData.objects.filter(asset__symbol="BTC").count() > 4000
    top = snapshot(datetime(2021, 11, 10, tzinfo=UTC))
    top_candle = PriceData.objects.get(asset__symbol="BTC", candle_time=top.snapshot_time)
    assert top.btc_price_usd == top_candle.close_price  # exact; SQLite keeps ~15 digits of the CSV's
    assert round(top.btc_price_usd, 8) == Decimal("67145.37493537")  # 67145.37493537061 in the CSV
    # Caps in the CSVs that day: BTC 1268116896159.246, ETH 560964266378.8303.
    assert (top.btc_dominance, top.eth_dominance) == (Decimal("69.33"), Decimal("30.67"))
    assert top.total_market_cap == Decimal("1829081162538.08")
    assert snapshot(datetime(2024, 4, 20, tzinfo=UTC)).halving_countdown_days == 0
    last = MetricsSnapshot.objects.order_by("-snapshot_time").first()
    candle = PriceData.objects.get(asset__symbol="BTC", candle_time=last.snapshot_time)
    assert last.rsi_14 == round(Decimal(str(candle.technical_indicators["rsi_14"])), 2)
    assert float(last.ema_200) == pytest.approx(candle.technical_indicators["ema_200"], rel=1e-9)
    assert -1 <= last.btc_eth_correlation_30d <= 1
    assert not MetricsSnapshot.objects.filter(has_anomalies=True).exists()
    assert snapshots_build().unchanged == counts.created  # stored values read back equal
