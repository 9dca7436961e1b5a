"""The backtest engine and the performance figures, checked by hand on tiny series."""

import math
from datetime import UTC, datetime

import pytest

from ai import metrics
from ai.evaluation import (
    backtest,
    buy_and_hold,
    classification_figures,
    evaluation_record,
    walk_forward_folds,
)
from ai.tests.factories import AIModelFactory

SQRT_365 = math.sqrt(365)


def test_backtest_with_fees_matches_the_hand_computation():
    # Long 100 -> 110, flat 110 -> 99, long 99 -> 120; 1% fee on each entry and exit.
    result = backtest([100, 110, 99, 120], [1, 0, 1], fee_rate=0.01)
    # 1 x 0.99 (entry) x 1.10 = 1.089; x 0.99 (exit) = 1.07811, flat;
    # x 0.99 (entry) x 120/99 = 1.293732; x 0.99 (exit at the end) = 1.28079468.
    assert result["equity"] == pytest.approx([1.0, 1.089, 1.07811, 1.28079468])
    assert result["trades"] == pytest.approx(
        [0.07811, 0.188]
    )  # 0.99 x 1.1 x 0.99 - 1; 0.99 x 120/99 x 0.99 - 1
    figures = result["figures"]
    assert figures["total_return"] == pytest.approx(0.28079468)
    assert figures["trade_count"] == 2 and figures["win_rate"] == 1.0
    assert figures["profit_factor"] is None  # no losing trade: no finite factor
    assert figures["max_drawdown"] == pytest.approx(0.01)  # 1.089 -> 1.07811
    # Period returns 0.089, -0.01, 0.188: mean 0.089, sample std 0.099.
    assert figures["sharpe_ratio"] == pytest.approx(0.089 / 0.099 * SQRT_365)
    assert figures["sortino_ratio"] == pytest.approx(0.089 / math.sqrt(0.0001 / 3) * SQRT_365)
    assert figures["cagr"] == pytest.approx(1.28079468 ** (365 / 3) - 1)
    assert figures["exposure"] == pytest.approx(2 / 3)


def test_buy_and_hold_pays_an_entry_and_an_exit_fee():
    figures = buy_and_hold([100, 110, 99, 120], fee_rate=0.01)["figures"]
    assert figures["total_return"] == pytest.approx(0.99 * 1.2 * 0.99 - 1)
    assert figures["trade_count"] == 1
    assert figures["max_drawdown"] == pytest.approx(1 - 99 / 110)


def test_a_losing_trade_without_fees():
    result = backtest([100, 90, 95], [1, 1], fee_rate=0.0)
    assert result["equity"] == pytest.approx([1.0, 0.9, 0.95])
    assert result["trades"] == pytest.approx([-0.05])
    assert result["figures"]["win_rate"] == 0.0 and result["figures"]["profit_factor"] == 0.0
    assert result["figures"]["max_drawdown"] == pytest.approx(0.1)


def test_flat_all_along_has_no_trades_and_no_ratio():
    figures = backtest([100, 120, 80], [0, 0], fee_rate=0.01)["figures"]
    assert figures["total_return"] == 0.0 and figures["trade_count"] == 0
    assert figures["sharpe_ratio"] is None and figures["sortino_ratio"] is None


def test_metrics_by_hand():
    assert metrics.max_drawdown([1, 1.2, 0.9, 1.5, 1.2]) == pytest.approx(0.25)
    assert metrics.profit_factor([0.1, -0.05, 0.2, -0.05]) == pytest.approx(3.0)
    assert metrics.win_rate([0.1, -0.05, 0.2, -0.05]) == 0.5
    assert metrics.annualized_volatility([0.01, -0.01]) == pytest.approx(math.sqrt(0.0002) * SQRT_365)
    assert metrics.cagr([100, 121], periods_per_year=2) == pytest.approx(1.21**2 - 1)


def test_walk_forward_folds_slide_by_the_test_block():
    assert walk_forward_folds(10, train_periods=4, test_periods=3) == [(0, 4, 7), (3, 7, 10)]
    assert walk_forward_folds(4, train_periods=4, test_periods=3) == []


def test_classification_figures():
    figures = classification_figures(["Bull", "Bull", "Bear", "Bear"], ["Bull", "Bear", "Bear", "Bear"])
    assert figures["accuracy"] == 0.75
    # F1 Bull = 2 x 1 x 0.5 / 1.5 = 2/3; F1 Bear = 2 x (2/3) x 1 / (5/3) = 0.8.
    assert figures["f1_score"] == pytest.approx((2 / 3 + 0.8) / 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("thresholds", "passed"),
    [({}, True), ({"min_sharpe_edge": 100.0}, False), ({"max_drawdown": 0.005}, False)],
)
def test_evaluation_record_passes_only_past_the_thresholds(thresholds, passed):
    model = AIModelFactory(configuration={"thresholds": thresholds})
    strategy = backtest([100, 110, 99, 120], [1, 0, 1], fee_rate=0.01)["figures"]
    baseline = buy_and_hold([100, 110, 99, 120], fee_rate=0.01)["figures"]
    evaluation = evaluation_record(
        model=model,
        timeframe="1d",
        result={
            "kind": "trading",
            "figures": strategy,
            "baseline": baseline,
            "period_start": datetime(2024, 1, 1, tzinfo=UTC),
            "period_end": datetime(2024, 1, 4, tzinfo=UTC),
            "sample_size": 3,
        },
    )
    evaluation.refresh_from_db()
    assert evaluation.passed is passed
    assert str(evaluation.total_return) == "0.2808" and evaluation.trade_count == 2
    assert str(evaluation.max_drawdown) == "0.0100" and str(evaluation.win_rate) == "1.0000"
    assert evaluation.baseline_metrics["total_return"] == pytest.approx(0.17612)
    assert evaluation.profit_factor is None and evaluation.metrics["thresholds"] == thresholds
