"""Layer-4 signals on real BTC/ETH history: price logic, links to the layers above, expiry, no look-ahead."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from ai import services
from ai.evaluation import backtest, model_evaluate
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from cryptopredict.testing.db import rolled_back
from sectors.tests.factories import SectorFactory, SectorMappingFactory
from trading.choices import SignalStatus, SignalType
from trading.models import AITradingSignal
from trading.predictors import (
    DEFAULT_CONFIGURATION,
    momentum_frame,
    price_point_spans,
    signal_frame,
    signal_positions,
)
from trading.services import signals_expire
from trading.tests.factories import AITradingSignalFactory

pytestmark = pytest.mark.django_db


def run(model, **kwargs):
    job = services.prediction_job_queue(model=model, enqueue=False, **kwargs)
    return services.prediction_job_execute(job_id=job.pk)


@pytest.fixture(scope="module")
def layered(django_db_setup, django_db_blocker):
    """Real candles and snapshots, with regime and sector analyses written by the models above.

    Made once for the module's tests, rolled back after them.
    """
    with rolled_back(django_db_blocker):
        assets = real_market()
        for symbol, name in (("BTC", "Store of value"), ("ETH", "Smart contracts")):
            SectorMappingFactory(asset=assets[symbol], sector=SectorFactory(name=name, slug=name.lower()[:5]),
                                 is_primary=True)  # fmt: skip
        regime = services.model_register(name="rules", version="1", architecture="regime_rules")
        assert run(regime).status == JobStatus.COMPLETED
        rotation = services.model_register(name="rotation", version="1", architecture="sector_rotation")
        assert run(rotation).status == JobStatus.COMPLETED
        yield assets


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_signals_carry_atr_levels_and_link_the_analyses_they_used(layered):
    model = services.model_register(name="signals", version="1", architecture="signal_confluence")
    job = run(model, parameters={"lookback": 60})
    assert job.status == JobStatus.COMPLETED, job.error_message
    signals = list(AITradingSignal.objects.filter(prediction_job=job))
    assert len(signals) == job.predictions_count == 120  # 60 days x BTC and ETH
    kinds = {s.signal_type for s in signals}
    assert {SignalType.BUY, SignalType.SELL} <= kinds
    for s in signals:
        assert 0 <= s.strength <= 1 and s.expires_at > s.generated_at and s.time_horizon_hours == 72
        assert s.regime_analysis_id is not None and s.sector_analysis_id is not None
        assert s.regime_analysis.analysis_time < s.generated_at  # known at the candle's close
        if s.signal_type == SignalType.BUY:
            assert s.stop_loss < s.entry_price < s.target_price
        elif s.signal_type == SignalType.SELL:
            assert s.target_price < s.entry_price < s.stop_loss
        if s.signal_type != SignalType.HOLD:
            assert s.risk_reward_ratio == Decimal("1.5000")
            # CoinGecko's daily prices are price points: no ATR, levels in close_move_14.
            assert s.reasoning["price_point"] is True and "atr_14" not in s.reasoning
            assert s.reasoning["levels"] == "2.0 / 3.0 x close_move_14"
            move = s.reasoning["close_move_14"]
            assert float(s.target_price - s.entry_price) == pytest.approx(
                (3 if s.signal_type == SignalType.BUY else -3) * move, rel=1e-6
            )
        # December 2021 is long past: every signal has expired.
        assert s.status == SignalStatus.EXPIRED
    assert run(model, parameters={"lookback": 60}).predictions_count == 0  # nothing new to signal


def test_signals_expire_only_once_their_time_is_up():
    now = timezone.now()
    due = AITradingSignalFactory(generated_at=now - timedelta(days=3), expires_at=now - timedelta(hours=1))
    fresh = AITradingSignalFactory(generated_at=now - timedelta(hours=1), expires_at=now + timedelta(hours=5))
    assert signals_expire(now=now) == 1
    due.refresh_from_db()
    fresh.refresh_from_db()
    assert (due.status, fresh.status) == (SignalStatus.EXPIRED, SignalStatus.ACTIVE)


def signals_of(close: pd.Series, regime: pd.Series) -> pd.DataFrame:
    momentum = momentum_frame(close, close, close, pd.Series(True, index=close.index))
    return signal_frame(momentum, regime, pd.Series(np.nan, index=close.index), DEFAULT_CONFIGURATION)


def test_no_look_ahead_a_signal_at_t_ignores_everything_after_t():
    raw = pd.read_csv("ai/tests/data/coingecko_btc-usd-2019-2021.csv")
    close = pd.Series(raw["price"].to_numpy(), index=pd.to_datetime(raw["snapped_at"].str[:10], utc=True))
    regime = pd.Series(np.sin(np.arange(len(close)) / 40), index=close.index)
    t = close.index[600]
    original = signals_of(close, regime)
    later = close.index > t
    altered_close, altered_regime = close.copy(), regime.copy()
    altered_close[later] *= 0.3
    altered_regime[later] = -1.0
    changed = signals_of(altered_close, altered_regime)
    known = close.index <= t
    pd.testing.assert_frame_equal(original[known], changed[known])
    assert not original[~known].equals(changed[~known])
    before, after = (
        signal_positions(original, bars_of(close)),
        signal_positions(changed, bars_of(altered_close)),
    )
    pd.testing.assert_frame_equal(before[known], after[known])
    assert {SignalType.BUY, SignalType.SELL} <= set(original["type"])


def bars_of(close, open_=None, high=None, low=None) -> pd.DataFrame:
    """Return the open / high / low of each bar (a price point's, the close, where not given)."""
    close = pd.Series(close, dtype=float)
    return pd.DataFrame(
        {
            "open": close if open_ is None else open_,
            "high": close if high is None else high,
            "low": close if low is None else low,
        },
        index=close.index,
        dtype=float,
    )


def test_positions_follow_buy_sell_stop_and_target():
    signals = pd.DataFrame(
        {
            "type": ["buy", "hold", "hold", "buy", "sell", "buy", "hold"],
            "entry": [100, 104, 96, 100, 101, 100, 115],
            "stop": [95, np.nan, np.nan, 95, np.nan, 95, np.nan],
            "target": [110, np.nan, np.nan, 110, np.nan, 110, np.nan],
        }
    )
    bars = bars_of(signals["entry"])  # price points: open = high = low = close
    # Enter at 100 (stop 95, target 110); 104 and 96 stay inside the levels; a buy while long
    # changes nothing; the sell exits; a new buy enters; 115 opens past the target 110: filled there.
    fixed = signal_positions(signals, bars, exit_at_target=True)
    assert fixed["position"].tolist() == [1, 1, 1, 1, 0, 1, 0]
    assert fixed["exit_price"].fillna(0).tolist() == [0, 0, 0, 0, 0, 0, 115]
    # By default the position runs past the target on a stop trailing the peak by the entry's 5:
    # 104 lifts the stop to 99, so 96 (opening below it) exits at 96; a buy re-enters; the sell
    # exits at the next open; 115 is held.
    trailing = signal_positions(signals, bars)
    assert trailing["position"].tolist() == [1, 1, 0, 1, 0, 1, 1]
    assert trailing["exit_price"].fillna(0).tolist() == [0, 0, 96, 0, 0, 0, 0]


def test_stops_are_checked_on_the_bars_low_and_a_gap_fills_at_the_open():
    days = pd.date_range("2021-01-01", periods=6, tz="UTC")
    signals = pd.DataFrame(
        {
            "type": ["buy", "hold", "buy", "hold", "buy", "hold"],
            "entry": [100.0, 99, 100, 97, 100, 100],
            "stop": [95.0, np.nan, 95, np.nan, 95, np.nan],
            "target": [110.0, np.nan, 110, np.nan, 110, np.nan],
        },
        index=days,
    )
    bars = bars_of(
        signals["entry"],
        open_=[100.0, 101, 99, 90, 100, 100],
        high=[101.0, 103, 101, 98, 100, 112],
        low=[99.0, 94, 98, 88, 100, 94],
    )
    # Day 1: the low 94 reaches the stop 95 though the close 99 is above it: out at 95.
    # Day 3: the bar opens at 90, below the stop 95: out at the open, 90, not at the stop.
    # Day 5 (fixed levels): the bar reaches the target 110 and the stop 95: the stop is taken first.
    positions = signal_positions(signals, bars, exit_at_target=True)
    assert positions["position"].tolist() == [1, 0, 1, 0, 1, 0]
    assert positions["exit_price"].fillna(0).tolist() == [0, 95, 0, 90, 0, 95]
    # The trailing stop is checked the same way (the closes 99 and 97 never lift it).
    assert signal_positions(signals, bars)["exit_price"].fillna(0).tolist() == [0, 95, 0, 90, 0, 95]
    # The backtest sells at those fills: bought at day 1's open 101, out at 95 within the bar.
    decisions = positions["position"].map({1.0: "BTC", 0.0: None})
    result = backtest(
        bars["open"].to_frame("BTC"),
        signals["entry"].to_frame("BTC"),
        decisions,
        exits=positions["exit_price"].to_frame("BTC"),
        fee_bp=10,
        slippage_bp=5,
    )
    cost = 0.0015
    first = (1 - cost) * 95 / 101 * (1 - cost)
    second = first * (1 - cost) * 90 / 90 * (1 - cost)  # bought at day 3's open 90, out at it
    third = second * (1 - cost) * 95 / 100 * (1 - cost)
    assert result["equity"] == pytest.approx([1, first, first, second, second, third])
    assert result["trades"] == pytest.approx([first - 1, second / first - 1, third / second - 1])
    assert result["figures"]["exposure"] == pytest.approx(3 / 5)


def test_a_price_point_series_has_no_atr_and_its_levels_come_from_the_close_move():
    raw = pd.read_csv("ai/tests/data/coingecko_btc-usd-2019-2021.csv")
    close = pd.Series(raw["price"].to_numpy(), index=pd.to_datetime(raw["snapped_at"].str[:10], utc=True))
    high, low = close * 1.02, close * 0.97
    points = pd.Series(close.index < close.index[400], index=close.index)  # then real OHLC
    momentum = momentum_frame(close, high, low, points)
    assert momentum["atr"][points].isna().all() and momentum["close_move"][~points].isna().all()
    # TA-Lib's ATR-14 over the real run alone, 14 candles after it begins.
    real = momentum["atr"][~points]
    assert real.iloc[:14].isna().all() and real.iloc[14:].notna().all()
    moves = close.diff().abs()
    # close_move_14: Wilder's mean of the absolute close change, seeded with the first 14.
    expected = moves.iloc[1:15].mean()
    for move in moves.iloc[15:40]:
        expected = (expected * 13 + move) / 14
    assert momentum["close_move"].iloc[39] == pytest.approx(expected)
    signals = signal_frame(momentum, pd.Series(0.5, index=close.index), pd.Series(np.nan, index=close.index),
                           DEFAULT_CONFIGURATION)  # fmt: skip
    trades = signals[signals["type"] == SignalType.BUY]
    on_points, on_real = trades[trades["price_point"]], trades[~trades["price_point"]]
    assert len(on_points) and len(on_real)
    assert (on_points["entry"] - on_points["stop"]).to_numpy() == pytest.approx(2 * on_points["close_move"])
    assert (on_real["entry"] - on_real["stop"]).to_numpy() == pytest.approx(2 * on_real["atr"])
    days = close.index
    flags = pd.Series(False, index=days[:6])
    flags.iloc[[0, 1, 4]] = True  # two runs of price points
    assert price_point_spans(flags) == {
        "bars": 3,
        "runs": [[days[0].isoformat(), days[1].isoformat()], [days[4].isoformat(), days[4].isoformat()]],
    }
    # Real candles whose ATR is still warming up carry no levels: no trade.
    assert (signals["type"][~points].iloc[:14] == SignalType.HOLD).all()


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_signal_backtest_against_buy_and_hold_with_fees(layered):
    model = services.model_register(name="signals", version="1", architecture="signal_confluence")
    evaluation = model_evaluate(model=model, parameters={"asset": "ETH", "fee_bp": 20})
    assert evaluation.metrics["asset"] == "ETH"
    execution = evaluation.metrics["execution"]
    assert {k: execution[k] for k in ("rule", "fee_bp", "slippage_bp")} == {
        "rule": "next_bar_open", "fee_bp": 20, "slippage_bp": 5
    }  # fmt: skip
    assert "low reaches it" in execution["intrabar_exits"] and "price points" in execution["levels"]
    # The test history is CoinGecko's: every bar is a price point, and the evaluation says so.
    assert evaluation.metrics["price_points"] == {
        "bars": evaluation.sample_size + 1,
        "runs": [[evaluation.period_start.isoformat(), evaluation.period_end.isoformat()]],
    }
    assert "price points (no OHLC range, no ATR)" in evaluation.notes
    assert evaluation.trade_count > 5 and 0 <= evaluation.win_rate <= 1 and 0 <= evaluation.max_drawdown <= 1
    baselines = evaluation.baseline_metrics
    assert set(baselines) == {"buy_and_hold", "sma_200"} and baselines["buy_and_hold"]["trade_count"] == 1
    comparison = evaluation.metrics["comparison"]
    assert set(comparison) == {"buy_and_hold", "sma_200"}
    for entry in comparison.values():
        assert entry["metric"] == "sharpe_ratio"
        assert entry["ci_low"] <= entry["difference"] <= entry["ci_high"]
        assert 0 < entry["p_value"] <= 1
    expected = all(e["difference"] > 0 and e["ci_low"] > 0 for e in comparison.values()) and (
        evaluation.max_drawdown <= Decimal("0.8")
    )
    assert evaluation.passed == expected
    curves = evaluation.curves
    assert set(curves["series"]) == {"model", "buy_and_hold", "sma_200"}
    assert curves["series"]["model"]["equity"][0] == 1.0 and len(curves["time"]) <= 2000
    assert all(d <= 0 for d in curves["series"]["sma_200"]["drawdown"])
    with pytest.raises(services.ValidationError, match="unknown asset 'XYZ'"):
        model_evaluate(model=model, parameters={"asset": "XYZ"})
