"""The backtest engine, the figures, the bootstrap and the pass mark, checked by hand on tiny series."""

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kurtosis, norm, skew

from ai import metrics
from ai.evaluation import (
    backtest,
    classification_figures,
    curves_of,
    evaluation_record,
    execution_of,
    sma_trend_decisions,
    walk_forward_folds,
)
from ai.tests.factories import AIModelFactory

SQRT_365 = math.sqrt(365)
COST = 0.0015  # 10 bp fee + 5 bp slippage
DAYS = pd.date_range("2020-01-01", periods=5, tz="UTC")


def tiny():
    opens = pd.Series([100.0, 102, 108, 100, 118], index=DAYS)
    closes = pd.Series([100.0, 110, 99, 120, 130], index=DAYS)
    return opens, closes


def test_a_decision_is_filled_at_the_next_open_and_every_change_pays_fee_and_slippage():
    opens, closes = tiny()
    # Long after the close of day 0, flat after day 2, long again after day 3.
    result = backtest(opens, closes, [1, 1, 0, 1, 1], fee_bp=10, slippage_bp=5)
    bar1 = (1 - COST) * 110 / 102  # bought at day 1's open, marked at its close
    bar2 = bar1 * 99 / 110
    bar3 = bar2 * 100 / 99 * (1 - COST)  # sold at day 3's open
    bar4 = bar3 * (1 - COST) * 130 / 118  # bought at day 4's open
    assert result["equity"] == pytest.approx([1.0, bar1, bar2, bar3, bar4])
    assert result["trades"] == pytest.approx([(1 - COST) ** 2 * 100 / 102 - 1, (1 - COST) * 130 / 118 - 1])
    figures = result["figures"]
    assert figures["trade_count"] == 2 and figures["open_trade_at_end"]
    assert figures["avg_holding_periods"] == pytest.approx((2 + 1) / 2)
    assert figures["exposure"] == pytest.approx(3 / 4)
    assert figures["total_return"] == pytest.approx(bar4 - 1)
    assert figures["max_drawdown"] == pytest.approx(1 - bar2 / bar1)
    returns = np.diff([1.0, bar1, bar2, bar3, bar4]) / np.array([1.0, bar1, bar2, bar3])
    assert figures["sharpe_ratio"] == pytest.approx(returns.mean() / returns.std(ddof=1) * SQRT_365)
    losing, winning = result["trades"]
    assert figures["expectancy"] == pytest.approx((losing + winning) / 2)
    assert figures["avg_win"] == pytest.approx(winning) and figures["avg_loss"] == pytest.approx(losing)
    assert figures["best_trade"] == pytest.approx(winning) and figures["worst_trade"] == pytest.approx(losing)
    assert figures["longest_losing_streak"] == 1
    assert figures["calmar_ratio"] == pytest.approx(figures["cagr"] / figures["max_drawdown"])


def test_a_decision_on_the_last_close_is_never_filled_and_no_fee_is_paid_while_flat():
    opens, closes = tiny()
    result = backtest(opens, closes, [0, 0, 0, 0, 1], fee_bp=10, slippage_bp=5)
    assert result["equity"].tolist() == [1.0] * 5 and result["trades"] == []
    assert result["figures"]["sharpe_ratio"] is None and result["figures"]["exposure"] == 0.0


def test_buy_and_hold_pays_one_entry_and_a_switch_pays_twice():
    opens, closes = tiny()
    hold = backtest(opens, closes, [1] * 5, fee_bp=10, slippage_bp=5)
    assert hold["equity"][-1] == pytest.approx((1 - COST) * 130 / 102)
    # Two instruments: a switch from A to B at day 2's open is an exit and an entry.
    both_open = pd.DataFrame({"A": opens, "B": opens * 2})
    both_close = pd.DataFrame({"A": closes, "B": closes * 2 * [1, 1, 1.1, 1.1, 1.1]})
    switch = backtest(both_open, both_close, ["A", "B", "B", "B", "B"], fee_bp=10, slippage_bp=5)
    day2 = (1 - COST) * 110 / 102 * 108 / 110 * (1 - COST) * (1 - COST) * (2 * 99 * 1.1) / (2 * 108)
    assert switch["equity"][2] == pytest.approx(day2)
    assert switch["figures"]["trade_count"] == 2


def test_the_sma_rule_is_long_only_above_its_trailing_mean():
    closes = pd.Series([1.0, 2, 3, 1, 5], index=DAYS)
    decisions = sma_trend_decisions(closes, closes.index, periods=3)
    # SMA-3: -, -, 2, 2, 3: above on day 2 (3 > 2) and day 4 (5 > 3), not before the warm-up.
    assert decisions.tolist() == [0, 0, 1, 0, 1]


def test_execution_comes_from_the_configuration_with_the_defaults():
    assert execution_of({}) == {"rule": "next_bar_open", "fee_bp": 10.0, "slippage_bp": 5.0}
    assert execution_of({"fee_bp": 20}, {"slippage_bp": 0})["fee_bp"] == 20.0
    with pytest.raises(Exception, match="fee_bp"):
        execution_of({"fee_bp": -1})


def test_stationary_bootstrap_positions_run_on_in_blocks_and_wrap():
    positions = metrics.stationary_bootstrap_indices(50, replications=200, block=5, seed=1)
    assert positions.shape == (200, 50) and positions.min() >= 0 and positions.max() < 50
    runs_on = (positions[:, 1:] - positions[:, :-1]) % 50 == 1
    # A new block starts with probability 1/5 (a fresh start may also happen to run on by chance).
    assert 0.75 < runs_on.mean() < 0.85


def test_the_bootstrap_interval_is_the_percentile_interval_of_the_resampled_differences():
    rng = np.random.default_rng(3)
    model, baseline = rng.normal(0.002, 0.02, 60), rng.normal(0.0, 0.02, 60)
    result = metrics.bootstrap_difference(
        metrics.sharpe_of_rows, model, baseline, margin=0.0, replications=300, block=4, seed=7
    )
    positions = metrics.stationary_bootstrap_indices(60, replications=300, block=4, seed=7)

    def sharpe(values):
        return values.mean() / values.std(ddof=1) * SQRT_365

    by_hand = np.array([sharpe(model[p]) - sharpe(baseline[p]) for p in positions])
    estimate = sharpe(model) - sharpe(baseline)
    assert result["difference"] == pytest.approx(estimate)
    assert result["ci_low"] == pytest.approx(np.percentile(by_hand, 2.5))
    assert result["ci_high"] == pytest.approx(np.percentile(by_hand, 97.5))
    exceed = np.sum(by_hand - estimate >= estimate)
    assert result["p_value"] == pytest.approx((1 + exceed) / 301)


def test_a_model_that_only_scales_the_baseline_has_a_zero_width_interval_at_zero():
    baseline = np.array([0.01, -0.02, 0.03, 0.0, -0.01, 0.02])
    result = metrics.bootstrap_difference(
        metrics.sharpe_of_rows, 2 * baseline, baseline, margin=0.0, replications=100, block=2
    )
    assert result["difference"] == pytest.approx(0) and result["ci_low"] == pytest.approx(0)
    assert result["ci_high"] == pytest.approx(0) and result["p_value"] == 1.0


def test_probabilistic_and_deflated_sharpe_by_hand():
    returns = np.array([0.01, -0.005, 0.02, 0.003, -0.01, 0.015, 0.007, -0.002])
    sharpe = returns.mean() / returns.std(ddof=1)
    spread = math.sqrt(
        (1 - skew(returns) * sharpe + (kurtosis(returns, fisher=False) - 1) / 4 * sharpe**2)
        / (len(returns) - 1)
    )
    assert metrics.probabilistic_sharpe_ratio(returns) == pytest.approx(norm.cdf(sharpe / spread))
    alone, trials = metrics.deflated_sharpe_ratio(returns)
    assert trials == 1 and alone == pytest.approx(norm.cdf(sharpe / spread))
    others = [0.05, 0.1, -0.02, 0.2]
    deflated, trials = metrics.deflated_sharpe_ratio(returns, trial_sharpes=others)
    variance = np.var([*others, sharpe], ddof=1)
    benchmark = math.sqrt(variance) * (
        (1 - metrics.EULER_GAMMA) * norm.ppf(1 - 1 / 5) + metrics.EULER_GAMMA * norm.ppf(1 - 1 / (5 * math.e))
    )
    assert trials == 5 and deflated == pytest.approx(norm.cdf((sharpe - benchmark) / spread))
    assert deflated < alone


def test_curves_start_at_one_are_downsampled_and_carry_period_returns():
    times = pd.date_range("2020-01-01", periods=400, tz="UTC")
    equity = np.linspace(1.0, 2.0, 400)
    equity[100] = 0.5
    curves = curves_of(times, {"model": equity}, points=100)
    assert len(curves["time"]) <= 101 and curves["time"][0] == "2020-01-01"
    assert curves["time"][-1] == "2021-02-03"
    series = curves["series"]["model"]
    assert series["equity"][0] == 1.0 and series["equity"][-1] == 2.0
    assert min(series["drawdown"]) < 0 and max(series["drawdown"]) == 0
    assert curves["yearly_returns"]["model"]["2020"] == pytest.approx(equity[365] - 1, abs=1e-6)
    january = curves["monthly_returns"]["model"]["2020-01"]
    assert january == pytest.approx(equity[30] - 1, abs=1e-6)


def test_classification_figures_include_balanced_accuracy_and_kappa():
    truth = ["Bull", "Bull", "Bull", "Bear"]
    predicted = ["Bull", "Bull", "Bull", "Bull"]
    figures = classification_figures(truth, predicted)
    assert figures["accuracy"] == 0.75
    assert figures["balanced_accuracy"] == 0.5  # recall 1 on Bull, 0 on Bear
    assert figures["cohen_kappa"] == 0.0  # no better than chance
    coded_truth, coded_predicted = np.array([[0, 0, 0, 1]]), np.array([[0, 0, 0, 0]])
    assert metrics.balanced_accuracy_rows(coded_truth, coded_predicted, 2).tolist() == [0.5]
    assert metrics.kappa_rows(coded_truth, coded_predicted, 2).tolist() == [0.0]
    other = classification_figures(["Bull", "Bull", "Bear", "Bear"], ["Bull", "Bear", "Bear", "Bear"])
    assert other["cohen_kappa"] == pytest.approx(0.5)  # po 0.75, pe 0.5
    # F1 Bull = 2 x 1 x 0.5 / 1.5 = 2/3; F1 Bear = 2 x (2/3) x 1 / (5/3) = 0.8.
    assert other["f1_score"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_walk_forward_folds_slide_by_the_test_block():
    assert walk_forward_folds(10, train_periods=4, test_periods=3) == [(0, 4, 7), (3, 7, 10)]
    assert walk_forward_folds(4, train_periods=4, test_periods=3) == []


# The pass mark ------------------------------------------------------------------------------------


def random_walk(days=900, seed=11):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=days, tz="UTC")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0.0005, 0.03, days))), index=index)
    opens = close.shift(1).fillna(100.0) * np.exp(rng.normal(0, 0.002, days))
    return opens, close


def strategy_result(opens, close, decisions):
    period = close.index[250:]
    return {
        "kind": "trading",
        "opens": opens[period].to_frame("X"),
        "closes": close[period].to_frame("X"),
        "decisions": pd.Series(decisions, index=close.index)[period].map({1: "X", 0: None}),
        "benchmark": "X",
        "benchmark_history": close,
        "period_start": period[0],
        "period_end": period[-1],
    }


def store(result, **configuration):
    model = AIModelFactory(configuration={"bootstrap": {"replications": 400}, **configuration})
    return evaluation_record(model=model, result=result, timeframe="1d")


@pytest.mark.django_db
def test_the_sma_rule_plus_noise_does_not_pass():
    opens, close = random_walk()
    rule = sma_trend_decisions(close, close.index)
    noise = np.random.default_rng(5).random(len(close)) < 0.03
    evaluation = store(strategy_result(opens, close, np.where(noise, 1 - rule, rule)))
    comparison = evaluation.metrics["comparison"]["sma_200"]
    assert comparison["ci_low"] < 0 < comparison["ci_high"]
    assert not evaluation.passed
    assert evaluation.metrics["execution"] == {"rule": "next_bar_open", "fee_bp": 10.0, "slippage_bp": 5.0}
    assert set(evaluation.baseline_metrics) == {"buy_and_hold", "sma_200"}
    assert evaluation.curves["series"]["sma_200"]["equity"][0] == 1.0


@pytest.mark.django_db
def test_a_model_with_a_real_edge_passes_and_a_margin_it_cannot_clear_fails_it():
    opens, close = random_walk()
    # An oracle that knows tomorrow's open-to-close move: an edge no bootstrap can doubt.
    oracle = ((close / opens).shift(-1) > 1).astype(int).fillna(0).to_numpy()
    evaluation = store(strategy_result(opens, close, oracle))
    assert evaluation.passed
    for entry in evaluation.metrics["comparison"].values():
        assert entry["ci_low"] > 0 and entry["p_value"] < 0.05
    assert 0 < evaluation.metrics["deflated_sharpe_ratio"] <= 1
    margin = evaluation.metrics["comparison"]["buy_and_hold"]["ci_low"] + 0.01
    assert not store(strategy_result(opens, close, oracle), thresholds={"min_sharpe_edge": margin}).passed


@pytest.mark.django_db
def test_a_classifier_equal_to_persistence_plus_noise_does_not_pass():
    rng = np.random.default_rng(2)
    index = pd.date_range("2020-01-01", periods=600, tz="UTC")
    truth = pd.Series(np.repeat(rng.choice(["Bull", "Bear", "Sideways"], 12), 50), index=index)
    persistence = truth.shift(10).fillna("Bull")
    noisy = persistence.where(rng.random(600) > 0.05, "Sideways")
    result = {
        "kind": "classification",
        "truth": truth,
        "predicted": noisy,
        "baselines": {
            "majority": pd.Series("Bull", index=index),
            "persistence": persistence,
            "random_prior": pd.Series(rng.choice(["Bull", "Bear", "Sideways"], 600), index=index),
        },
        "period_start": datetime(2020, 1, 1, tzinfo=UTC),
        "period_end": datetime(2021, 8, 22, tzinfo=UTC),
    }
    evaluation = store(result)
    assert not evaluation.passed
    persistence_entry = evaluation.metrics["comparison"]["persistence"]
    assert persistence_entry["metric"] == "balanced_accuracy" and persistence_entry["ci_low"] < 0.05
    # It does beat the majority class and the random draw: only persistence holds it back.
    assert evaluation.metrics["comparison"]["majority"]["ci_low"] > 0
    assert evaluation.metrics["comparison_kappa"]["random_prior"]["ci_low"] > 0
