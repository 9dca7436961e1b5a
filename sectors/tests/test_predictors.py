"""Layer-2 sector rotation on real BTC/ETH history: indices, history, analyses, flows and their ranges."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ai import services
from ai.evaluation import model_evaluate
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from cryptopredict.testing.db import rolled_back
from sectors.choices import Outlook, RotationPhase, RotationSignal
from sectors.models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorDaily,
    SectorHistory,
    SectorRotationFlow,
)
from sectors.predictors import altseason_breadth, quadrant, rotation_flows, rotation_metrics, rotation_phase
from sectors.services import (
    chained_index,
    market_frames,
    sector_history_build,
    sector_indices,
    sector_weights,
)
from sectors.tests.factories import SectorFactory, SectorMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_market(django_db_setup, django_db_blocker):
    """The real history, imported once for the module's tests (rolled back after them)."""
    with rolled_back(django_db_blocker):
        yield real_market()


@pytest.fixture
def sectors(shared_market):
    assets = shared_market
    store = SectorFactory(name="Store of value", slug="store-of-value")
    contracts = SectorFactory(name="Smart contracts", slug="smart-contracts")
    layer1 = SectorFactory(name="Layer 1", slug="layer-1")
    SectorMappingFactory(asset=assets["BTC"], sector=store, is_primary=True)
    SectorMappingFactory(asset=assets["ETH"], sector=contracts, is_primary=True)
    SectorMappingFactory(asset=assets["BTC"], sector=layer1, weight=Decimal("50"))
    SectorMappingFactory(asset=assets["ETH"], sector=layer1, weight=Decimal("50"))
    return {"store": store, "contracts": contracts, "layer1": layer1, **assets}


def test_chained_index_weights_returns_by_the_previous_period():
    returns = pd.DataFrame({1: [np.nan, 0.10, 0.0], 2: [np.nan, -0.10, 0.5]})
    weights_before = pd.DataFrame({1: [np.nan, 300.0, 330.0], 2: [np.nan, 100.0, 90.0]})
    # Period 1: (300 x 0.1 + 100 x -0.1) / 400 = 0.05; period 2: (330 x 0 + 90 x 0.5) / 420.
    assert chained_index(returns, weights_before).tolist() == pytest.approx(
        [1.0, 1.05, 1.05 * (1 + 45 / 420)]
    )


def test_quadrants_breadth_phase_and_flows_by_hand():
    assert [quadrant(101, 101), quadrant(101, 99), quadrant(99, 99), quadrant(99, 101)] == [
        "leading", "weakening", "lagging", "improving"
    ]  # fmt: skip
    close = pd.DataFrame({1: [100.0] * 90 + [110.0], 2: [10.0] * 90 + [12.0], 3: [5.0] * 90 + [5.0]})
    assert altseason_breadth(close, 1).iloc[-1] == pytest.approx(
        50.0
    )  # asset 2 beat BTC's 10%, asset 3 did not
    phase = rotation_phase(market_return=-0.2, breadth=90, alt_count=5, eth_edge=0.1, btc_share_change=0.0)
    assert phase == RotationPhase.RISK_OFF
    assert (
        rotation_phase(market_return=0.1, breadth=80, alt_count=5, eth_edge=0, btc_share_change=0)
        == "alt_season"
    )
    assert rotation_phase(market_return=0.1, breadth=100, alt_count=1, eth_edge=0.06, btc_share_change=0) == (
        RotationPhase.ETH_SEASON
    )
    assert rotation_phase(
        market_return=0.1, breadth=0, alt_count=1, eth_edge=-0.1, btc_share_change=0.02
    ) == (RotationPhase.BTC_SEASON)
    # Sector 1 lost 3 points of share, 2 gained 2 and 3 gained 1: 2/3 of the move to 2, 1/3 to 3.
    flows = rotation_flows(pd.Series({1: -0.03, 2: 0.02, 3: 0.01}), market_cap=1e12)
    assert [(f["from"], f["to"]) for f in flows] == [(1, 2), (1, 3)]
    assert [f["strength"] for f in flows] == pytest.approx([2 / 3, 1 / 3])
    assert [f["usd"] for f in flows] == pytest.approx([2e10, 1e10])


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_sector_history_from_constituent_candles(sectors):
    written = sector_history_build(timeframe="1d")
    assert written == SectorHistory.objects.count() > 3000
    day = pd.Timestamp("2021-11-10", tz="UTC")
    rows = {row.sector_id: row for row in SectorHistory.objects.filter(snapshot_time=day)}
    store, contracts, layer1 = (rows[sectors[k].pk] for k in ("store", "contracts", "layer1"))
    # Layer 1 holds half of each, so its cap is the mean of the two others.
    assert layer1.total_market_cap == pytest.approx(
        (store.total_market_cap + contracts.total_market_cap) / 2, rel=Decimal("1e-9")
    )
    assert store.dominance + contracts.dominance == pytest.approx(Decimal(100), abs=Decimal("0.002"))
    assert store.asset_count == 1 and layer1.asset_count == 2
    assert {p["symbol"] for p in layer1.top_performers} == {"BTC", "ETH"}
    assert sector_history_build(timeframe="1d") == written  # a rerun upserts the same rows
    assert SectorHistory.objects.count() == written


@pytest.mark.postgres  # a materialized view: PostgreSQL only
def test_the_daily_sector_view_follows_the_history_once_the_refresh_runs_after_the_commit(
    sectors, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sector_history_build(timeframe="1d")
    # This test's sectors only: a flush between transactional tests leaves a view's rows until its
    # next refresh.
    days = SectorDaily.objects.filter(sector__in=Sector.objects.all())
    assert not days.exists()  # materialized: nothing before the refresh
    for callback in callbacks:
        callback()
    # Each day's share of the sectors' market cap, worked out here from the history rows.
    history = SectorHistory.objects.filter(timeframe="1d", total_market_cap__gt=0)
    totals: dict = {}
    for row in history:
        totals[row.snapshot_time] = totals.get(row.snapshot_time, Decimal(0)) + row.total_market_cap
    by_hand = {
        (row.sector_id, row.snapshot_time): (row.total_market_cap, totals[row.snapshot_time], row.asset_count)
        for row in history
    }
    view = {(d.sector_id, d.snapshot_time): d for d in days}
    assert len(view) == len(by_hand) > 3000
    for key, (cap, total, count) in by_hand.items():
        day = view[key]
        assert (day.total_market_cap, day.sectors_market_cap, day.asset_count) == (cap, total, count)
        assert day.market_share == pytest.approx(float(cap / total), rel=1e-12)


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_rotation_model_writes_sector_cross_sector_and_flow_rows(sectors):
    model = services.model_register(name="rotation", version="1", architecture="sector_rotation")
    job = services.prediction_job_queue(model=model, parameters={"lookback": 200}, enqueue=False)
    job = services.prediction_job_execute(job_id=job.pk)
    assert job.status == JobStatus.COMPLETED, job.error_message
    analyses = list(AISectorAnalysis.objects.filter(ai_model=model))
    crosses = list(AICrossSectorAnalysis.objects.filter(ai_model=model))
    flows = list(SectorRotationFlow.objects.filter(cross_analysis__ai_model=model))
    assert len(crosses) == 200 and len(analyses) == 600 and flows
    assert job.predictions_count == len(analyses) + len(crosses) + len(flows)
    for row in analyses:
        assert -1 <= row.momentum_score <= 1 and row.performance_rank in (1, 2, 3)
        assert row.outlook in Outlook.values and row.rotation_signal in RotationSignal.values
        assert row.analysis_data["quadrant"] in ("leading", "weakening", "lagging", "improving")
    for cross in crosses:
        assert cross.rotation_phase in RotationPhase.values
        assert cross.market_breadth in (0, 100)  # one altcoin (ETH) either beat BTC over 90 days or not
        assert set(cross.leading_sectors + cross.lagging_sectors) == {s.pk for s in (
            sectors["store"], sectors["contracts"], sectors["layer1"])}  # fmt: skip
    for flow in flows:
        assert (
            flow.from_sector_id != flow.to_sector_id
            and 0 <= flow.flow_strength <= 1
            and 0 <= flow.confidence <= 1
        )
    # A rerun replaces rather than duplicates.
    services.prediction_job_execute(
        job_id=services.prediction_job_queue(model=model, parameters={"lookback": 200}, enqueue=False).pk
    )
    assert AICrossSectorAnalysis.objects.filter(ai_model=model).count() == 200
    assert SectorRotationFlow.objects.filter(cross_analysis__ai_model=model).count() == len(flows)


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_rotation_without_mapped_sectors_fails_with_a_clear_error(shared_market):
    model = services.model_register(name="rotation", version="1", architecture="sector_rotation")
    job = services.prediction_job_execute(job_id=services.prediction_job_queue(model=model, enqueue=False).pk)
    assert job.status == JobStatus.FAILED and "map assets to sectors first" in job.error_message


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_rotation_backtest_against_the_market(sectors):
    model = services.model_register(name="rotation", version="1", architecture="sector_rotation")
    evaluation = model_evaluate(model=model)
    assert evaluation.trade_count > 0 and 0 <= evaluation.max_drawdown <= 1
    assert set(evaluation.baseline_metrics) == {"buy_and_hold", "sma_200"}
    comparison = evaluation.metrics["comparison"]
    assert evaluation.passed == all(e["difference"] > 0 and e["ci_low"] > 0 for e in comparison.values())
    assert evaluation.metrics["execution"]["rule"] == "next_bar_open"
    # No sector index has traded opens: the evaluation says its fills are estimated.
    assert evaluation.metrics["execution"]["opens"].startswith("estimated, not traded")
    assert "estimated from the members' overnight gaps" in evaluation.notes
    assert set(evaluation.curves["monthly_returns"]) == {"model", "buy_and_hold", "sma_200"}


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_no_look_ahead_rotation_figures_at_t_ignore_everything_after_t(sectors):
    frames = market_frames(timeframe="1d")
    weights = sector_weights()
    t = frames["close"].index[500]

    def figures(close, caps):
        metrics = rotation_metrics(sector_indices(close, caps, weights))
        return pd.concat([metrics[k] for k in ("rs_ratio", "rs_momentum", "share_change")], axis=1)

    original = figures(frames["close"], frames["market_cap"])
    close, caps = frames["close"].copy(), frames["market_cap"].copy()
    close.loc[close.index > t] *= 4.0
    caps.loc[caps.index > t, caps.columns[0]] *= 10.0
    changed = figures(close, caps)
    known = original.index <= t
    pd.testing.assert_frame_equal(original[known], changed[known])
    assert not original[~known].equals(changed[~known])
