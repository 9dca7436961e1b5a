"""Layer-4 signals on real BTC/ETH history: price logic, links to the layers above, expiry, no look-ahead."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from ai import services
from ai.evaluation import model_evaluate
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from sectors.tests.factories import SectorFactory, SectorMappingFactory
from trading.choices import SignalStatus, SignalType
from trading.models import AITradingSignal
from trading.predictors import (
    DEFAULT_CONFIGURATION,
    momentum_frame,
    signal_frame,
    signal_positions,
)
from trading.services import signals_expire
from trading.tests.factories import AITradingSignalFactory

pytestmark = pytest.mark.django_db


def run(model, **kwargs):
    job = services.prediction_job_queue(model=model, enqueue=False, **kwargs)
    return services.prediction_job_execute(job_id=job.pk)


@pytest.fixture
def layered():
    """Real candles and snapshots, with regime and sector analyses written by the models above."""
    assets = real_market()
    for symbol, name in (("BTC", "Store of value"), ("ETH", "Smart contracts")):
        SectorMappingFactory(asset=assets[symbol], sector=SectorFactory(name=name, slug=name.lower()[:5]),
                             is_primary=True)  # fmt: skip
    regime = services.model_register(name="rules", version="1", architecture="regime_rules")
    assert run(regime).status == JobStatus.COMPLETED
    rotation = services.model_register(name="rotation", version="1", architecture="sector_rotation")
    assert run(rotation).status == JobStatus.COMPLETED
    return assets


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
            atr = s.reasoning["atr_14"]
            assert float(s.target_price - s.entry_price) == pytest.approx(
                (3 if s.signal_type == SignalType.BUY else -3) * atr, rel=1e-6
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
    momentum = momentum_frame(close, close, close)
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
    assert (signal_positions(original)[known] == signal_positions(changed)[known]).all()
    assert {SignalType.BUY, SignalType.SELL} <= set(original["type"])


def test_positions_follow_buy_sell_stop_and_target():
    signals = pd.DataFrame(
        {
            "type": ["buy", "hold", "hold", "buy", "sell", "buy", "hold"],
            "entry": [100, 104, 96, 100, 101, 100, 115],
            "stop": [95, np.nan, np.nan, 95, np.nan, 95, np.nan],
            "target": [110, np.nan, np.nan, 110, np.nan, 110, np.nan],
        }
    )
    # Enter at 100 (stop 95, target 110); 104 and 96 stay inside the levels; a buy while long
    # changes nothing; the sell exits; a new buy enters; 115 passes the target 110 and exits.
    assert signal_positions(signals, exit_at_target=True).tolist() == [1, 1, 1, 1, 0, 1, 0]
    # By default the position runs past the target on a stop trailing the peak by the entry's 5:
    # 104 lifts the stop to 99, so 96 exits; a buy re-enters; the sell exits; 115 is held.
    assert signal_positions(signals).tolist() == [1, 1, 0, 1, 0, 1, 1]


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_signal_backtest_against_buy_and_hold_with_fees(layered):
    model = services.model_register(name="signals", version="1", architecture="signal_confluence")
    evaluation = model_evaluate(model=model, parameters={"asset": "ETH", "fee_bp": 20})
    assert evaluation.metrics["asset"] == "ETH"
    assert evaluation.metrics["execution"] == {"rule": "next_bar_open", "fee_bp": 20, "slippage_bp": 5}
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
