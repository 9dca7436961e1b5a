"""Each chart of the back office draws its data in a real browser, with no console error."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ai.choices import ModelType
from ai.tests.curves import evaluation_curves
from ai.tests.factories import AIModelFactory, ModelEvaluationFactory
from ai.tests.market import real_market
from assets.indicators import indicators_compute
from assets.models import PriceData
from assets.services.resampling import candles_resample
from assets.tests.factories import AssetFactory, PriceDataFactory
from backoffice.tests.browser.conftest import drawn
from macro.choices import MarketRegime
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory
from sectors.tests.factories import SectorFactory, SectorHistoryFactory
from selection.tests.factories import PortfolioFactory
from trading.services import trade_action_create
from trading.tests.factories import AITradingSignalFactory
from users.tests.factories import PASSWORD

# End to end in a real browser: PostgreSQL only (the production database), to keep the suite fast.
pytestmark = [pytest.mark.browser, pytest.mark.postgres]
COMPARISON = {
    "buy_and_hold": {
        "metric": "sharpe_ratio",
        "model": 1.5,
        "baseline": 1.1,
        "difference": 0.4,
        "ci_low": 0.1,
        "ci_high": 0.7,
        "p_value": 0.02,
        "margin": 0.0,
    }
}


def test_sign_in_lands_on_the_branded_dashboard(browser, live_server, admin_user):
    page = browser.new_page()
    try:
        page.goto(live_server.url + "/")  # the site's root leads to the back office
        page.fill("#id_username", admin_user.email)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        assert page.inner_text("#site-name") == "CryptoPredict back office"
        assert page.title().endswith("CryptoPredict back office")
    finally:
        page.close()


def test_asset_page_draws_candles_indicators_signals_and_regimes(page):
    btc = real_market(snapshots=False)["BTC"]
    indicators_compute(asset=btc, timeframe="1d")
    candles_resample(asset=btc, source_tf="1d", target_tf="1w")
    daily = PriceData.objects.filter(asset=btc, timeframe="1d").order_by("-candle_time")
    last = daily[0].candle_time
    for days, regime in ((40, MarketRegime.BEAR), (20, MarketRegime.BULL)):
        snapshot = MetricsSnapshotFactory(snapshot_time=last - timedelta(days=days))
        AIRegimeAnalysisFactory(metrics_snapshot=snapshot, regime=regime)
    close = daily[5].close_price
    AITradingSignalFactory(
        asset=btc,
        generated_at=daily[5].candle_time,
        entry_price=close,
        stop_loss=close * 9 / 10,
        target_price=close * 6 / 5,
    )

    page.goto(f"{page.base_url}/admin/assets/asset/{btc.pk}/change/")

    assert drawn(page, "candles") == min(1000, daily.count())
    chart = page.locator('[data-chart="candles"]')
    assert chart.get_attribute("data-signals") == "1"
    assert page.locator(".chart-timeframes button").all_inner_texts() == ["1d", "1w"]
    assert page.locator("[data-chart='candles'] canvas").count() > 3  # price, RSI and MACD panes

    page.click(".chart-timeframes button[data-timeframe='1w']")
    page.wait_for_selector('[data-chart="candles"][data-timeframe="1w"][data-points]')
    weekly = PriceData.objects.filter(asset=btc, timeframe="1w").count()
    assert int(chart.get_attribute("data-points")) == weekly


def test_evaluation_page_draws_equity_against_baselines_and_monthly_returns(page):
    curves = evaluation_curves(days=120)
    evaluation = ModelEvaluationFactory(
        metrics={"curves": curves, "sharpe_ratio": 1.5, "total_return": 0.42, "comparison": COMPARISON},
        baseline_metrics={
            "buy_and_hold": {"sharpe_ratio": 1.1, "total_return": 0.2},
            "sma_200": {"sharpe_ratio": 0.7, "total_return": 0.1},
        },
    )

    page.goto(f"{page.base_url}/admin/ai/modelevaluation/{evaluation.pk}/change/")

    assert drawn(page, "equity") == len(curves["time"]) == 120
    assert page.get_attribute('[data-chart="equity"]', "data-series") == "model,buy_and_hold,sma_200"
    assert drawn(page, "monthly-returns") == len(curves["monthly_returns"]["model"]) == 4
    table = page.inner_text("[data-figures]")
    assert "Sharpe ratio\t1.5\t1.1\t0.4" in table and "CI [0.1, 0.7], p = 0.02" in table
    assert "Total return\t42%\t20%\t22%\t10%\t32%" in table


def test_regimes_page_draws_price_bands_and_probabilities_per_model(page):
    first, second = (AIModelFactory(name=n, model_type=ModelType.MACRO) for n in ("regime-a", "regime-b"))
    for day in range(30):
        snapshot = MetricsSnapshotFactory(btc_price_usd=40000 + 100 * day)
        regime = MarketRegime.BULL if day < 10 or day >= 20 else MarketRegime.BEAR
        for model in (first, second):
            AIRegimeAnalysisFactory(
                metrics_snapshot=snapshot,
                ai_model=model,
                regime=regime,
                in_sample=model == first and day < 5,
            )

    page.goto(f"{page.base_url}/admin/macro/airegimeanalysis/")
    page.click("text=Regime chart")

    assert drawn(page, "regimes") == 25  # the first model's 5 in-sample days are left out
    chart = page.locator('[data-chart="regimes"]')
    assert chart.get_attribute("data-bands") == "3"  # Bull, Bear, Bull
    assert chart.locator("canvas").count() >= 1

    page.select_option("[data-regime-model]", str(second.pk))
    page.wait_for_selector(f'[data-chart="regimes"][data-model="{second.pk}"][data-points]')
    assert int(chart.get_attribute("data-points")) == 30


def test_portfolio_page_draws_value_against_btc_allocation_and_pnl(page):
    assets = {symbol: AssetFactory(symbol=symbol) for symbol in ("BTC", "ETH")}
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for day in range(20):
        for symbol, base in (("BTC", 40000), ("ETH", 2000)):
            close = Decimal(base + 50 * day)
            PriceDataFactory(
                asset=assets[symbol],
                candle_time=start + timedelta(days=day),
                **dict.fromkeys(("open_price", "high_price", "low_price", "close_price"), close),
            )
    portfolio = PortfolioFactory(track_cash=True, cash_balance=10000)
    for day, symbol, quantity in ((2, "BTC", "0.1"), (5, "ETH", "1")):
        trade_action_create(
            portfolio=portfolio,
            asset=assets[symbol],
            user=portfolio.user,
            action_type="buy",
            quantity=Decimal(quantity),
            price=Decimal(1000 if symbol == "ETH" else 40000),
            executed_at=start + timedelta(days=day, hours=1),
        )

    page.goto(f"{page.base_url}/admin/selection/portfolio/{portfolio.pk}/change/")

    assert drawn(page, "portfolio") == 20
    assert drawn(page, "allocation") == 3  # BTC, ETH and cash
    assert drawn(page, "holding-pnl") == portfolio.holdings.count() == 2


def test_sector_rotation_page_draws_tails_quadrants_and_index_lines(page):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i, color in enumerate(("#2e7d32", "#c62828", "#1565c0")):
        sector = SectorFactory(name=f"Sector {i}", color=color)
        for day in range(40):
            cap = 1000 * (i + 1) * (1 + 0.01 * (i + 1) * day) + 50 * ((day * (i + 3)) % 7)
            SectorHistoryFactory(
                sector=sector, snapshot_time=start + timedelta(days=day), total_market_cap=Decimal(cap)
            )

    page.goto(f"{page.base_url}/admin/sectors/sector/")
    page.click(".object-tools a:has-text('Rotation graph')")

    assert drawn(page, "rrg") == 3 * 5  # a five-day tail per sector
    assert drawn(page, "sector-index") == 40
