"""ai_demo_run fills every analysis, signal and evaluation table from real history, and can run twice."""

from decimal import Decimal

import pytest

from ai.demo import BUILT_IN, ai_demo_run
from ai.models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from macro.models import AIRegimeAnalysis
from sectors.models import AICrossSectorAnalysis, AISectorAnalysis, SectorHistory, SectorRotationFlow
from sectors.tests.factories import SectorFactory, SectorMappingFactory
from selection.models import AIPortfolioAnalysis, AIWatchlistAnalysis
from selection.tests.factories import (
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from trading.models import AITradingSignal, PortfolioAssetAnalysis

pytestmark = pytest.mark.django_db
TABLES = (
    AIRegimeAnalysis, SectorHistory, AISectorAnalysis, AICrossSectorAnalysis, SectorRotationFlow,
    AIWatchlistAnalysis, AIPortfolioAnalysis, PortfolioAssetAnalysis, AITradingSignal,
)  # fmt: skip


def test_demo_run_fills_every_layer(settings, tmp_path):
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    assets = real_market()
    for symbol in ("BTC", "ETH"):
        SectorMappingFactory(asset=assets[symbol], sector=SectorFactory(), is_primary=True)
    watchlist = WatchlistFactory()
    portfolio = PortfolioFactory()
    for asset in assets.values():
        WatchlistAssetFactory(watchlist=watchlist, asset=asset)
        PortfolioAssetFactory(portfolio=portfolio, asset=asset, quantity=Decimal("1"), target_allocation=50)
    summary = ai_demo_run()
    assert {table.__name__: table.objects.count() > 0 for table in TABLES} == {
        t.__name__: True for t in TABLES
    }
    assert AIModel.objects.filter(is_active=True).count() == len(BUILT_IN)
    assert ModelTrainingJob.objects.get().status == JobStatus.COMPLETED
    assert set(ModelPredictionJob.objects.values_list("status", flat=True)) == {JobStatus.COMPLETED}
    assert ModelEvaluation.objects.count() == 4  # every model with a backtest
    assert summary["sector_history"] > 0
    counts = {table.__name__: table.objects.count() for table in (*TABLES, ModelEvaluation)}
    ai_demo_run()
    assert ModelTrainingJob.objects.count() == 1  # trained once
    assert {table.__name__: table.objects.count() for table in (*TABLES, ModelEvaluation)} == counts
