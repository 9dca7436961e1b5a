from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import reduce
from math import isclose, sqrt
from operator import or_

import numpy as np
import pandas as pd
import pytest
import talib
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q

from assets import indicators
from assets.indicators import (
    FIRST_DEFINED_INDEX,
    WARMUP_CANDLES,
    frame_rows,
    indicator_frame,
    indicators_compute,
    indicators_mark_stale,
)
from assets.models import INDICATOR_FIELDS, PriceData, indicators_of
from assets.tests.factories import AssetFactory

START = datetime(2020, 1, 1, tzinfo=UTC)
ALL_KEYS = {
    "rsi_14",
    "sma_20",
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "ema_200",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "volatility_30",
}


def random_walk(count: int, *, seed: int = 7, start: float = 100.0) -> tuple[list, list, list]:
    """Return closes, highs and lows of a positive random walk, as 2-decimal Decimals."""
    rng = np.random.default_rng(seed)
    closes = start * np.exp(np.cumsum(rng.normal(0, 0.03, count)))
    wicks = rng.uniform(0, 0.02, (2, count))
    opens = np.concatenate([[start], closes[:-1]])
    highs = np.maximum(opens, closes) * (1 + wicks[0])
    lows = np.minimum(opens, closes) * (1 - wicks[1])
    as_decimal = lambda values: [Decimal(f"{v:.2f}") for v in values]  # noqa: E731
    return as_decimal(closes), as_decimal(highs), as_decimal(lows)


def candles_create(asset, closes, highs=None, lows=None, *, timeframe="1d", start=START, caps=None, skip=()):
    """Store one candle per close (open = previous close, clamped into the range), daily from `start`."""
    highs = highs or closes
    lows = lows or closes
    delta = timedelta(days=1) if timeframe == "1d" else timedelta(hours=1)
    rows = []
    for i, (close, high, low) in enumerate(zip(closes, highs, lows, strict=True)):
        if i in skip:
            continue
        opened = min(max(closes[i - 1] if i else close, low), high)
        rows.append(
            PriceData(
                asset=asset,
                timeframe=timeframe,
                candle_time=start + i * delta,
                open_price=opened,
                high_price=max(high, close, opened),
                low_price=min(low, close, opened),
                close_price=close,
                volume=Decimal(1),
                market_cap=caps[i] if caps else None,
            )
        )
    PriceData.objects.bulk_create(rows, batch_size=1000)


CLEARED = dict.fromkeys(INDICATOR_FIELDS)  # an update that empties every indicator column
# Candles holding at least one indicator.
HAS_INDICATORS = reduce(or_, (Q(**{f"{name}__isnull": False}) for name in INDICATOR_FIELDS))


def stored(asset, timeframe="1d") -> list[dict]:
    candles = PriceData.objects.filter(asset=asset, timeframe=timeframe).order_by("candle_time")
    return [indicators_of(row) for row in candles.values(*INDICATOR_FIELDS)]


def expected(closes, highs, lows) -> list[dict]:
    """Return what TA-Lib gives over exactly these candles, in the stored (rounded) form."""
    return frame_rows(indicator_frame(closes, highs, lows))


def test_indicator_frame_equals_talib_and_the_volatility_definition():
    closes, highs, lows = (np.array(v, dtype=float) for v in random_walk(300))
    frame = indicator_frame(closes, highs, lows)
    macd, signal, hist = talib.MACD(closes, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(closes, 20, 2, 2, 0)
    reference = {
        "rsi_14": talib.RSI(closes, 14),
        "sma_20": talib.SMA(closes, 20),
        "sma_50": talib.SMA(closes, 50),
        "sma_200": talib.SMA(closes, 200),
        "ema_12": talib.EMA(closes, 12),
        "ema_26": talib.EMA(closes, 26),
        "ema_200": talib.EMA(closes, 200),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": hist,
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "atr_14": talib.ATR(highs, lows, closes, 14),
        "volatility_30": pd.Series(np.log(closes)).diff().rolling(30).std().to_numpy() * sqrt(365),
    }
    assert set(frame) == ALL_KEYS
    for key, values in reference.items():
        np.testing.assert_allclose(frame[key], values, rtol=1e-12, equal_nan=True, err_msg=key)


def test_volatility_is_annualized_by_the_timeframe():
    closes, highs, lows = random_walk(40)
    daily = indicator_frame(closes, highs, lows)["volatility_30"][-1]
    hourly = indicator_frame(closes, highs, lows, periods_per_year=365 * 24)["volatility_30"][-1]
    assert isclose(hourly / daily, sqrt(24))
    assert indicators.periods_per_year("1h") == 365 * 24
    assert indicators.periods_per_year("1M") == 12


def test_first_defined_index_and_missing_keys_during_warm_up():
    rows = expected(*random_walk(250))
    assert all(row == {} for row in rows[:FIRST_DEFINED_INDEX])
    assert set(rows[FIRST_DEFINED_INDEX]) == {"ema_12"}
    assert "sma_200" not in rows[198]
    assert "ema_200" in rows[199]
    assert set(rows[-1]) == ALL_KEYS


@pytest.mark.django_db
def test_compute_stores_talib_values_rounded_to_ten_digits(django_assert_max_num_queries):
    asset = AssetFactory(symbol="BTC")
    series = random_walk(250)
    candles_create(asset, *series)
    # Find the series, make its watermark, read warm-up and chunk, write, clear, and the one query of
    # the listeners of indicators_written (alerts: does a rule watch this series?): 13 whatever its
    # length, and 3 per written batch for its deadlock safety (savepoint, rows locked in id order).
    with django_assert_max_num_queries(16):
        written = indicators_compute(asset=asset)
    rows = stored(asset)
    assert written == 250 - FIRST_DEFINED_INDEX
    assert rows == expected(*series)
    assert rows[-1]["sma_200"] == float(f"{np.mean([float(c) for c in series[0][50:]]):.10g}")


@pytest.mark.django_db
def test_incremental_run_computes_only_the_noted_range_with_full_run_values():
    asset = AssetFactory(symbol="ETH")
    closes, highs, lows = random_walk(280)
    candles_create(asset, closes[:250], highs[:250], lows[:250])
    indicators_compute(asset=asset)
    PriceData.objects.filter(asset=asset, candle_time=START + timedelta(days=100)).update(
        **CLEARED | {"rsi_14": 1.0}
    )
    candles_create(asset, closes, highs, lows, skip=range(250))
    assert indicators_compute(asset=asset) == 0  # written around the service: not noted
    day = lambda n: START + timedelta(days=n)  # noqa: E731
    indicators_mark_stale(asset_id=asset.pk, timeframe="1d", start=day(250), end=day(279))

    assert indicators_compute(asset=asset) == 30
    assert indicators_compute(asset=asset) == 0
    rows, full = stored(asset), expected(closes, highs, lows)
    assert rows[100] == {"rsi_14": 1.0}
    assert rows[250:] == full[250:]
    assert rows[:100] == full[:100]


@pytest.mark.django_db
def test_incremental_values_equal_talib_over_the_warm_up_window(monkeypatch):
    monkeypatch.setattr(indicators, "WARMUP_CANDLES", 60)
    asset = AssetFactory()
    series = random_walk(400)
    candles_create(asset, *series)
    indicators_compute(asset=asset)
    PriceData.objects.filter(asset=asset, candle_time__gte=START + timedelta(days=380)).update(**CLEARED)
    indicators_mark_stale(
        asset_id=asset.pk, timeframe="1d", start=START + timedelta(days=380), end=START + timedelta(days=399)
    )

    assert indicators_compute(asset=asset) == 20
    window = expected(*(values[320:] for values in series))
    assert stored(asset)[380:] == window[60:]
    assert "sma_200" not in window[-1]  # 80 candles cannot give an SMA-200


@pytest.mark.django_db
def test_incremental_run_after_a_long_history_matches_the_full_run():
    """With the real warm-up, recursive indicators forget their seed below the stored precision."""
    asset = AssetFactory()
    series = random_walk(WARMUP_CANDLES + 300, seed=11)
    candles_create(asset, *series)
    indicators_compute(asset=asset)
    full = stored(asset)
    PriceData.objects.filter(
        asset=asset, candle_time__gte=START + timedelta(days=WARMUP_CANDLES + 250)
    ).update(**CLEARED)
    indicators_mark_stale(
        asset_id=asset.pk,
        timeframe="1d",
        start=START + timedelta(days=WARMUP_CANDLES + 250),
        end=START + timedelta(days=WARMUP_CANDLES + 299),
    )

    assert indicators_compute(asset=asset) == 50
    for got, want in zip(stored(asset)[-50:], full[-50:], strict=True):
        assert got.keys() == want.keys() == ALL_KEYS
        for key in ALL_KEYS:
            assert isclose(got[key], want[key], rel_tol=1e-9, abs_tol=1e-9), key
        assert got["sma_200"] == want["sma_200"]  # windowed indicators are exact


@pytest.mark.django_db
def test_chunked_run_equals_one_pass(monkeypatch):
    monkeypatch.setattr(indicators, "CHUNK_CANDLES", 70)
    monkeypatch.setattr(indicators, "WRITE_BATCH", 25)
    asset = AssetFactory()
    series = random_walk(300)
    candles_create(asset, *series)

    assert indicators_compute(asset=asset) == 300 - FIRST_DEFINED_INDEX
    assert stored(asset) == expected(*series)


@pytest.mark.django_db
def test_recompute_and_filters():
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    series = random_walk(60)
    candles_create(btc, *series)
    candles_create(eth, *series)
    candles_create(btc, *series, timeframe="1h")

    assert indicators_compute(timeframe="1d") == 2 * (60 - FIRST_DEFINED_INDEX)
    assert PriceData.objects.filter(timeframe="1h").exclude(HAS_INDICATORS).count() == 60

    PriceData.objects.filter(asset=btc, timeframe="1d").update(rsi_14=-1.0)
    assert indicators_compute(asset=btc, timeframe="1d") == 0
    # Every candle differs from what it should hold, the first ones too (they should hold nothing).
    assert indicators_compute(asset=btc, timeframe="1d", recompute=True) == 60
    assert stored(btc) == expected(*series)
    assert indicators_compute(asset=btc, timeframe="1d", recompute=True) == 0


@pytest.mark.django_db
def test_command_summary_and_errors(capsys):
    asset = AssetFactory(symbol="BTC")
    candles_create(asset, *random_walk(30))

    call_command("compute_indicators", "--symbol", "btc", "--timeframe", "1d")
    assert "BTC 1d: indicators written for 19 candles" in capsys.readouterr().out
    call_command("compute_indicators")
    assert "all candles: indicators written for 0 candles" in capsys.readouterr().out

    with pytest.raises(CommandError, match="unknown asset 'DOGE'") as error:
        call_command("compute_indicators", "--symbol", "DOGE")
    assert error.value.returncode == 2


def test_atr_is_computed_only_over_runs_of_real_ohlc():
    closes, highs, lows = (np.array(v, dtype=float) for v in random_walk(120))
    real = np.zeros(120, dtype=bool)
    real[40:100] = True  # price points, then 60 real candles, then price points again
    frame = indicator_frame(closes, highs, lows, real_ohlc=real)
    atr = frame["atr_14"]
    assert np.isnan(atr[:54]).all() and np.isnan(atr[100:]).all()  # 14 candles of warm-up after 40
    np.testing.assert_allclose(atr[40:100], talib.ATR(highs[40:100], lows[40:100], closes[40:100], 14))
    # The close-based indicators do not care.
    np.testing.assert_array_equal(frame["ema_26"], indicator_frame(closes, highs, lows)["ema_26"])


@pytest.mark.django_db
def test_price_points_store_no_atr():
    asset = AssetFactory()
    series = random_walk(60)
    candles_create(asset, *series)
    PriceData.objects.filter(asset=asset, candle_time__lt=START + timedelta(days=30)).update(
        is_price_point=True
    )
    indicators_compute(asset=asset)
    rows = stored(asset)
    assert not any("atr_14" in row for row in rows[:44]) and all("atr_14" in row for row in rows[44:])
    assert all("ema_12" in row for row in rows[FIRST_DEFINED_INDEX:])


@pytest.mark.django_db
def test_check_recursive_judges_every_built_in_indicator(capsys):
    """Every indicator is stable at the service's warm-up; a short warm-up shows the recursive ones."""
    asset = AssetFactory(symbol="BTC")
    candles_create(asset, *random_walk(WARMUP_CANDLES + 400, seed=3))
    indicators_compute(asset=asset)

    call_command("check_recursive", "--symbol", "btc", "--timeframe", "1d")
    out = capsys.readouterr().out
    assert (
        all(f"\n{key} " in out for key in indicators.INDICATOR_KEYS)
        and set(indicators.INDICATOR_KEYS) == ALL_KEYS
    )
    assert "unstable at 3000 candles (tolerance 1e-09): none; stored values differing: none" in out
    assert "1 series: every indicator stable and stored as computed" in out

    check = indicators.indicators_recursive_check(asset_id=asset.pk, timeframe="1d", warmup=100)
    # Windowed indicators need only their window (SMA-200's is longer than 101); recursive ones
    # remember their seed.
    assert set(check.unstable) == {
        "sma_200",
        "rsi_14",
        "ema_12",
        "ema_26",
        "ema_200",
        "macd",
        "macd_signal",
        "macd_hist",
        "atr_14",
    }
    assert check.changes["sma_200"][100] is None  # 101 candles give no SMA-200 at all
    assert check.changes["sma_50"][100] < 1e-12 and check.changes["volatility_30"][100] < 1e-12
    with pytest.raises(CommandError, match="1 of 1 series have unstable or stale indicators") as error:
        call_command("check_recursive", "--symbol", "BTC", "--warmup", "100")
    assert error.value.returncode == 1
    assert "unstable at 100 candles (tolerance 1e-09): rsi_14, sma_200, ema_12" in capsys.readouterr().out


@pytest.mark.django_db
def test_check_recursive_reports_stale_stored_values_and_bad_arguments():
    asset = AssetFactory(symbol="ETH")
    candles_create(asset, *random_walk(300))
    indicators_compute(asset=asset)
    latest = PriceData.objects.filter(asset=asset).latest("candle_time")
    PriceData.objects.filter(pk=latest.pk).update(rsi_14=1.0)
    check = indicators.indicators_recursive_check(asset_id=asset.pk, timeframe="1d")
    assert check.stale == ["rsi_14"] and check.unstable == []
    with pytest.raises(CommandError, match="--lengths must be whole numbers") as error:
        call_command("check_recursive", "--lengths", "10,x")
    assert error.value.returncode == 2
