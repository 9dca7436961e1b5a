"""Layer-3 analytics checked against hand-computed figures, and the selection model on real history."""

import math
import statistics
from decimal import Decimal

import pandas as pd
import pytest

from ai import services
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from selection import analytics
from selection.models import AIPortfolioAnalysis, AIWatchlistAnalysis
from selection.tests.factories import (
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from trading.asset_selection import holding_recommendation
from trading.choices import Recommendation
from trading.models import PortfolioAssetAnalysis

DAYS = pd.date_range("2024-01-02", periods=4, tz="UTC")  # close times
PRICES = pd.DataFrame({1: [100.0, 110.0, 105.0, 120.0], 2: [50.0, 50.0, 55.0, 60.0]}, index=DAYS)
HOLDINGS = [
    {
        "asset": 1,
        "quantity": Decimal("2"),
        "cost_basis": Decimal("200"),
        "realized_pnl": Decimal("10"),
        "target": 60,
    },
    {
        "asset": 2,
        "quantity": Decimal("4"),
        "cost_basis": Decimal("180"),
        "realized_pnl": Decimal("-5"),
        "target": 40,
    },
]
# One unit of asset 2 bought at the third close: before it the portfolio held 3.
TRADES = [{"asset": 2, "time": DAYS[2], "side": "buy", "quantity": Decimal("1"), "price": Decimal("55")}]


def test_portfolio_analytics_match_the_hand_computation():
    result = analytics.portfolio_analytics(holdings=HOLDINGS, prices=PRICES, trades=TRADES, cash=20.0)
    # Values: 2x100 + 3x50 = 350; 2x110 + 3x50 = 370; 2x105 + 4x55 = 430 (55 put in); 2x120 + 4x60 = 480.
    returns = [370 / 350 - 1, (430 - 55) / 370 - 1, 480 / 430 - 1]
    assert result["invested_value"] == pytest.approx(480) and result["value"] == pytest.approx(500)
    assert result["cost_basis"] == pytest.approx(380)
    assert result["unrealized_pnl"] == pytest.approx(100) and result["unrealized_pnl_pct"] == pytest.approx(
        100 / 3.8
    )
    assert result["realized_pnl"] == pytest.approx(5)
    assert result["time_weighted_return"] == pytest.approx((375 / 350) * (480 / 430) - 1)
    assert result["volatility"] == pytest.approx(statistics.stdev(returns) * math.sqrt(365))
    assert result["sharpe_ratio"] == pytest.approx(
        statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(365)
    )
    assert result["sortino_ratio"] is None  # no period lost money
    assert result["expected_return"] == pytest.approx(statistics.mean(returns) * 365)
    assert result["max_drawdown"] == 0.0
    assert result["weights"] == pytest.approx({1: 50.0, 2: 50.0})
    assert result["hhi"] == pytest.approx(0.5) and result["diversification_score"] == pytest.approx(100.0)
    # Asset 1 is 10 points under its 60% target, asset 2 10 points over its 40%: 10% of 480 each way.
    assert result["rebalancing"][1] == {
        "current_weight": 50.0, "target_weight": 60.0, "drift": -10.0, "action": "buy", "amount": 48.0
    }  # fmt: skip
    assert result["rebalancing"][2]["action"] == "sell" and result["rebalancing"][2]["amount"] == 48.0
    assert 0 <= result["risk_score"] <= 100


def test_time_weighted_return_ignores_deposits_and_withdrawals():
    # 100 grows 10% to 110, 50 is withdrawn (value 60 after), then 60 grows to 66.
    twr, returns = analytics.time_weighted_return([100, 60, 66], [0, -50, 0])
    assert returns.tolist() == pytest.approx([0.10, 0.10]) and twr == pytest.approx(0.21)


def test_drawdown_and_sortino_with_a_losing_period():
    prices = pd.DataFrame({1: [100.0, 80.0, 120.0, 90.0]}, index=DAYS)
    result = analytics.portfolio_analytics(
        holdings=[{"asset": 1, "quantity": 1, "cost_basis": 100, "realized_pnl": 0, "target": None}],
        prices=prices,
    )
    assert result["max_drawdown"] == pytest.approx(0.25)  # 120 -> 90
    returns = [-0.2, 0.5, -0.25]
    downside = math.sqrt((0.04 + 0.0625) / 3)
    assert result["sortino_ratio"] == pytest.approx(statistics.mean(returns) / downside * math.sqrt(365))
    assert result["rebalancing"] == {} and result["diversification_score"] == 0.0 and result["hhi"] == 1.0


def test_concentration_scores():
    assert analytics.hhi([0.25] * 4) == pytest.approx(0.25)
    assert analytics.diversification_score([0.25] * 4) == pytest.approx(100)
    assert analytics.diversification_score([0.7, 0.3]) == pytest.approx(100 * (1 - 0.58) / 0.5)
    assert analytics.diversification_score([1.0]) == 0.0


@pytest.mark.parametrize(
    ("score", "drift", "signal", "expected"),
    [
        (30, None, "sell", Recommendation.EXIT),
        (30, None, None, Recommendation.REDUCE),
        (60, 8.0, None, Recommendation.REDUCE),
        (60, -8.0, None, Recommendation.INCREASE),
        (45, None, "buy", Recommendation.INCREASE),
        (55, 2.0, None, Recommendation.HOLD),
    ],
)
def test_holding_recommendation(score, drift, signal, expected):
    assert holding_recommendation(score=score, drift=drift, signal=signal) == expected


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
@pytest.mark.django_db
def test_selection_model_scores_watchlists_and_analyses_portfolios_on_real_history():
    assets = real_market(snapshots=False)
    watchlist = WatchlistFactory()
    for asset in assets.values():
        WatchlistAssetFactory(watchlist=watchlist, asset=asset)
    portfolio = PortfolioFactory(cash_balance=Decimal("1000"))
    for symbol, quantity, cost, target in (("BTC", "0.5", "10000", "70"), ("ETH", "5", "4000", "30")):
        PortfolioAssetFactory(
            portfolio=portfolio, asset=assets[symbol], quantity=Decimal(quantity), cost_basis=Decimal(cost),
            average_buy_price=Decimal(cost) / Decimal(quantity), target_allocation=Decimal(target),
        )  # fmt: skip
    model = services.model_register(name="selection", version="1", architecture="asset_selection")
    job = services.prediction_job_execute(
        job_id=services.prediction_job_queue(
            model=model, parameters={"portfolio": portfolio.pk}, enqueue=False
        ).pk
    )
    assert job.status == JobStatus.COMPLETED, job.error_message
    # The scope was the portfolio: its analysis and one per holding, no watchlist.
    assert job.predictions_count == 3 and not AIWatchlistAnalysis.objects.exists()
    analysis = AIPortfolioAnalysis.objects.get(portfolio=portfolio)
    # The last closes in the data (CoinGecko, 2021-12-31): BTC 47,191.87, ETH 3,714.95.
    btc, eth = 0.5 * 47191.86838983951, 5 * 3714.945456115339
    assert float(analysis.portfolio_value) == pytest.approx(btc + eth + 1000, rel=1e-4)
    assert 0 <= analysis.risk_score <= 100 and 0 <= analysis.max_drawdown <= 1 and analysis.volatility > 0
    assert analysis.rebalancing[str(assets["BTC"].pk)]["target_weight"] == 70.0
    for row in PortfolioAssetAnalysis.objects.filter(prediction_job=job):
        assert row.recommendation in Recommendation.values and 0 <= row.risk_score <= 100
        assert 0 <= row.suggested_allocation <= 100
    everything = services.prediction_job_execute(
        job_id=services.prediction_job_queue(model=model, enqueue=False).pk
    )
    assert everything.status == JobStatus.COMPLETED
    scored = AIWatchlistAnalysis.objects.get(watchlist=watchlist)
    assert 0 <= scored.overall_score <= 100 and 0 <= scored.diversification_score <= 100
    assert set(scored.asset_scores) == {str(a.pk) for a in assets.values()}
    assert all(0 <= score <= 100 for score in scored.asset_scores.values())
    assert {r["action"] for r in scored.recommendations} <= {"keep", "remove", "add"}


@pytest.mark.django_db
def test_an_unknown_portfolio_is_refused_by_name():
    model = services.model_register(name="selection", version="1", architecture="asset_selection")
    with pytest.raises(services.ValidationError, match="no portfolio with id 999"):
        services.prediction_job_queue(model=model, parameters={"portfolio": 999})
    with pytest.raises(services.ValidationError, match="watchlist must be a watchlist id"):
        services.prediction_job_queue(model=model, parameters={"watchlist": "x"})
