"""Layer-1 regime models on real BTC/ETH history (2019-2021): rows, ranges, chaining, no look-ahead."""

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ai import services
from ai.evaluation import model_evaluate
from ai.tests.market import real_market
from cryptopredict.choices import JobStatus
from cryptopredict.testing.db import rolled_back
from macro.choices import MarketRegime, RiskLevel
from macro.models import AIRegimeAnalysis, MetricsSnapshot
from macro.predictors import (
    DEFAULT_CONFIGURATION,
    REGIMES,
    RegimeClassifier,
    regime_features,
    regime_labels,
    regime_walk_forward,
    rule_probabilities,
    snapshot_frame,
    training_rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_market(django_db_setup, django_db_blocker):
    """The real history, imported once for the module's tests (rolled back after them)."""
    with rolled_back(django_db_blocker):
        yield real_market()


@pytest.fixture
def market(shared_market, settings, tmp_path):
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    return shared_market


def run(model, **kwargs):
    job = services.prediction_job_queue(model=model, enqueue=False, **kwargs)
    return services.prediction_job_execute(job_id=job.pk)


def check_rows(rows):
    previous = None
    for row in rows:
        assert row.regime in MarketRegime.values
        assert set(row.regime_probabilities) == set(REGIMES)
        assert sum(row.regime_probabilities.values()) == pytest.approx(1, abs=0.01)
        # The regime is the most probable one (rounding to 4 places may leave a tie).
        assert row.regime_probabilities[row.regime] == max(row.regime_probabilities.values())
        assert Decimal(-1) <= row.trend_strength <= Decimal(1)
        assert row.volatility_level in RiskLevel.values and row.risk_level in RiskLevel.values
        assert 0 <= row.ai_confidence_score <= 1 and 0 <= row.signal_agreement_score <= 1
        assert row.previous_regime == (previous.regime if previous else None)
        assert row.regime_changed == (previous is not None and previous.regime != row.regime)
        if previous is not None and not row.regime_changed:
            gap = (row.analysis_time - previous.analysis_time).days
            assert row.regime_duration_days == previous.regime_duration_days + gap
        if row.regime_changed:
            assert row.regime_duration_days == 0
        previous = row


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_rule_baseline_writes_one_analysis_per_snapshot(market):
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    job = run(model)
    snapshots = MetricsSnapshot.objects.count()
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert snapshots > 1000 and job.predictions_count == snapshots
    rows = list(AIRegimeAnalysis.objects.filter(ai_model=model).order_by("analysis_time"))
    assert len(rows) == snapshots and all(row.prediction_job_id == job.pk for row in rows)
    check_rows(rows)
    assert len({row.regime for row in rows}) >= 4  # three real years pass through several regimes
    late_2020 = next(r for r in rows if r.analysis_time.date().isoformat() == "2020-12-20")
    assert late_2020.regime == MarketRegime.BULL and late_2020.trend_strength > 0  # BTC broke its 2017 high
    # A rerun upserts: the same rows, now pointing at the new job.
    again = run(model)
    assert AIRegimeAnalysis.objects.filter(ai_model=model).count() == snapshots
    assert AIRegimeAnalysis.objects.filter(prediction_job=again).count() == snapshots


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_a_window_continues_the_chain_of_earlier_analyses(market):
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    first = run(model, parameters={"end": "2020-06-30T00:00:00+00:00"})
    second = run(model, parameters={"start": "2020-07-01T00:00:00+00:00"})
    for job in (first, second):
        assert job.status == JobStatus.COMPLETED, job.error_message
    snapshots = MetricsSnapshot.objects.order_by("snapshot_time")
    split = datetime(2020, 7, 1, tzinfo=UTC)
    assert first.predictions_count == snapshots.filter(snapshot_time__lt=split).count() > 0
    assert second.predictions_count == snapshots.filter(snapshot_time__gte=split).count() > 0
    rows = list(AIRegimeAnalysis.objects.filter(ai_model=model).order_by("analysis_time"))
    assert len(rows) == snapshots.count()
    # The first row of the second window chains onto the last row of the first.
    boundary = next(i for i, row in enumerate(rows) if row.analysis_time >= split)
    assert rows[boundary].prediction_job_id == second.pk and rows[boundary - 1].prediction_job_id == first.pk
    assert rows[boundary].previous_regime == rows[boundary - 1].regime
    check_rows(rows)


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_bad_parameters_are_refused_by_name(market):
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    with pytest.raises(services.ValidationError, match="start must be an ISO 8601"):
        services.prediction_job_queue(model=model, parameters={"start": "yesterday"})


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_forest_trains_on_hindsight_labels_and_writes_out_of_sample_history(market):
    model = services.model_register(name="forest", version="1", architecture="regime_forest")
    cutoff = pd.Timestamp("2021-06-30", tz="UTC")
    training = services.training_job_queue(
        model=model,
        training_data_end=cutoff,
        parameters={"train_periods": 300, "test_periods": 90},
        enqueue=False,
    )
    training = services.training_job_execute(job_id=training.pk)
    assert training.status == JobStatus.COMPLETED, training.error_message
    metrics = training.resulting_metrics
    assert metrics["training_rows"] > 500 and 0 <= metrics["walk_forward_balanced_accuracy"] <= 1
    model.refresh_from_db()
    # The last label window ends by the cutoff: the last training row is 30 days before it.
    assert pd.Timestamp(model.training_data_range["end"]) == cutoff - pd.Timedelta(days=30)
    services.model_activate(model=model)
    job = run(model)
    assert job.status == JobStatus.COMPLETED, job.error_message
    rows = list(AIRegimeAnalysis.objects.filter(ai_model=model).order_by("analysis_time"))
    assert len(rows) == MetricsSnapshot.objects.count()
    check_rows(rows)
    # Only the first training window, which no walk-forward fold predicted, is in sample.
    in_sample = [row.in_sample for row in rows]
    assert in_sample[0] and not in_sample[-1] and 0 < sum(in_sample) < len(rows) / 2
    assert in_sample == sorted(in_sample, reverse=True)
    assert all(row.analysis_time <= cutoff for row in rows if row.in_sample)


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_training_rows_never_use_labels_past_the_cutoff(market):
    features = regime_features(snapshot_frame(timeframe="1d"))
    labels = regime_labels(features, DEFAULT_CONFIGURATION)
    cutoff = features.index[600]
    rows = training_rows(features, labels, cutoff=cutoff, horizon=30)
    assert rows[-1] == features.index[570]
    assert set(labels.loc[rows]) <= set(REGIMES)


def test_rule_probabilities_sum_to_one_even_without_history():
    frame = pd.DataFrame(
        {"close": [100.0, 101.0, 99.0]}, index=pd.date_range("2024-01-01", periods=3, tz="UTC")
    )
    probabilities = rule_probabilities(regime_features(frame))
    assert np.allclose(probabilities.sum(axis=1), 1)


def walk_forward(frame):
    features = regime_features(frame)
    labels = regime_labels(features, DEFAULT_CONFIGURATION)
    # A small forest: the check's point is which rows each fold reads, not the forest's skill.
    small = {**DEFAULT_CONFIGURATION, "forest": {"n_estimators": 20, "max_depth": 4}}
    fit_predict = RegimeClassifier().fit_predict(features, labels, small)
    return regime_walk_forward(
        features, labels, fit_predict=fit_predict, train_periods=300, test_periods=60, horizon=30
    )["predicted"]


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_no_look_ahead_a_prediction_at_t_ignores_everything_after_t(market):
    frame = snapshot_frame(timeframe="1d")
    t = frame.index[700]
    original = walk_forward(frame)
    later = frame.index > t
    altered = frame.copy()
    altered.loc[later, ["close", "sma_200", "ema_200"]] *= 3.0
    altered.loc[later, ["rsi_14", "weekly_return", "monthly_return"]] = 0.0
    changed = walk_forward(altered)
    known = original.index <= t
    assert known.sum() > 150
    pd.testing.assert_series_equal(original[known], changed[known])
    # The check can fail: altering data before t does change predictions up to t.
    earlier = frame.copy()
    earlier.loc[frame.index[450] : t, "close"] *= 0.5
    earlier.loc[frame.index[450] : t, ["sma_200", "ema_200", "rsi_14"]] = np.nan
    assert not walk_forward(earlier)[known].equals(original[known])


@pytest.mark.postgres  # end to end on real history: PostgreSQL only, to keep the suite fast
def test_walk_forward_evaluation_is_stored_against_three_baselines(market):
    model = services.model_register(name="rules", version="1", architecture="regime_rules")
    evaluation = model_evaluate(model=model, parameters={"train_periods": 300, "test_periods": 90})
    assert evaluation.sample_size > 300 and evaluation.period_end > evaluation.period_start
    assert 0 <= evaluation.accuracy <= 1 and 0 <= evaluation.f1_score <= 1
    assert set(evaluation.baseline_metrics) == {"majority", "persistence", "random_prior"}
    for name in ("comparison", "comparison_kappa"):
        assert set(evaluation.metrics[name]) == {"majority", "persistence", "random_prior"}
    entries = [*evaluation.metrics["comparison"].values(), *evaluation.metrics["comparison_kappa"].values()]
    assert {e["metric"] for e in entries} == {"balanced_accuracy", "cohen_kappa"}
    assert evaluation.passed == all(e["difference"] > 0 and e["ci_low"] > 0 for e in entries)
    assert 0 <= evaluation.metrics["balanced_accuracy"] <= 1
