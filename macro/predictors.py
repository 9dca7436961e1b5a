"""Layer 1: market regime models over MetricsSnapshot rows, writing AIRegimeAnalysis.

Two architectures: `regime_rules` (a transparent rule baseline on price vs SMA-200, the Mayer
multiple, the SMA-50/200 cross, RSI-14, 30-day return and volatility) and `regime_forest` (a
scikit-learn random-forest classifier on the same features, labelled from FORWARD returns and
volatility). Every feature at time t uses rows up to t only; a label at t uses t+1..t+h, and
training keeps only rows whose label window ends by the training cutoff.
"""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from ai.choices import ModelType
from ai.evaluation import classification_figures, walk_forward_folds
from ai.registry import artifact_load, register
from assets.indicators import indicator_frame

from .choices import MarketRegime, RiskLevel
from .models import AIRegimeAnalysis, MetricsSnapshot
from .signals import regimes_created

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier

REGIMES = list(MarketRegime.values)
FEATURES = ["mayer", "cross", "rsi", "ret_7", "ret_30", "vol_30", "drawdown_365", "dist_ema_200"]
RISK_LEVELS = list(RiskLevel.values)  # low, medium, high, extreme
DEFAULT_CONFIGURATION = {
    "horizon": 30,  # days of forward data a label looks at
    "bull_return": 0.10,
    "bear_return": -0.10,
    "transition_volatility": 0.9,
    "thresholds": {"min_f1_edge": 0.0, "min_accuracy_edge": 0.0},
}


# Features and labels (pure) ---------------------------------------------------------------------


def snapshot_frame(*, timeframe: str, end: datetime | None = None) -> pd.DataFrame:
    """Return the snapshots of `timeframe` (up to `end`) as a frame indexed by snapshot_time."""
    rows = MetricsSnapshot.objects.filter(timeframe=timeframe)
    if end is not None:
        rows = rows.filter(snapshot_time__lte=end)
    values = rows.order_by("snapshot_time").values(
        "id",
        "snapshot_time",
        "btc_price_usd",
        "rsi_14",
        "sma_200",
        "ema_200",
        "weekly_return",
        "monthly_return",
    )
    frame = pd.DataFrame.from_records(
        list(values),
        columns=[
            "id",
            "snapshot_time",
            "btc_price_usd",
            "rsi_14",
            "sma_200",
            "ema_200",
            "weekly_return",
            "monthly_return",
        ],
    )
    frame = frame.rename(columns={"btc_price_usd": "close"}).set_index("snapshot_time")
    return frame.apply(pd.to_numeric, errors="coerce").astype({"id": "int64"})


def regime_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the regime features of each row from rows up to it (snapshot columns where stored).

    `frame` needs `close`; stored `sma_200`, `ema_200`, `rsi_14`, `weekly_return` and
    `monthly_return` are used where present, and taken from `assets.indicators.indicator_frame`
    over the closes where not (SMA-50 and the 30-day volatility always come from there).
    """
    close = frame["close"].astype(float)
    values = close.to_numpy()

    def stored(column: str, computed: np.ndarray) -> pd.Series:
        series = pd.Series(computed, index=frame.index)
        if column in frame:
            series = frame[column].astype(float).where(frame[column].notna(), series)
        return series

    indicators = indicator_frame(values, values, values)
    sma_200 = stored("sma_200", indicators["sma_200"])
    ema_200 = stored("ema_200", indicators["ema_200"])
    sma_50 = pd.Series(indicators["sma_50"], index=frame.index)
    return pd.DataFrame(
        {
            "close": close,
            "mayer": close / sma_200,
            "cross": sma_50 / sma_200 - 1,
            "rsi": stored("rsi_14", indicators["rsi_14"]),
            "ret_7": stored("weekly_return", close.pct_change(7).to_numpy()),
            "ret_30": stored("monthly_return", close.pct_change(30).to_numpy()),
            "vol_30": pd.Series(indicators["volatility_30"], index=frame.index),
            "drawdown_365": close / close.rolling(365, min_periods=1).max() - 1,
            "dist_ema_200": close / ema_200 - 1,
        },
        index=frame.index,
    )


def forward_labels(features: pd.DataFrame, configuration: dict) -> pd.Series:
    """Return the regime each row turned out to be in, from the next `horizon` rows (NaN at the end)."""
    horizon = int(configuration["horizon"])
    close = features["close"]
    forward_return = close.shift(-horizon) / close - 1
    log_returns = np.log(close).diff()
    forward_vol = log_returns.rolling(horizon).std().shift(-horizon) * np.sqrt(365)
    mayer = features["mayer"]
    labels = np.select(
        [
            forward_return >= configuration["bull_return"],
            forward_return <= configuration["bear_return"],
            forward_vol >= configuration["transition_volatility"],
            (mayer < 1) & (forward_return > 0.02),
            (mayer >= 1) & (forward_return < -0.02),
        ],
        [
            MarketRegime.BULL,
            MarketRegime.BEAR,
            MarketRegime.TRANSITION,
            MarketRegime.ACCUMULATION,
            MarketRegime.DISTRIBUTION,
        ],
        default=MarketRegime.SIDEWAYS,
    )
    return pd.Series(labels, index=features.index, dtype=object).where(forward_return.notna())


def training_rows(features: pd.DataFrame, labels: pd.Series, *, cutoff, horizon: int) -> pd.Index:
    """Return the rows usable for training: features known and label window ending by `cutoff`."""
    times = features.index.to_series()
    label_end = times.shift(-horizon)
    usable = labels.notna() & label_end.notna() & (label_end <= cutoff) & features["mayer"].notna()
    return features.index[usable.to_numpy()]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rule_probabilities(features: pd.DataFrame) -> pd.DataFrame:
    """Return the rule baseline's regime probabilities for each row (rows sum to 1)."""
    mayer = features["mayer"].fillna(1.0)
    above = np.tanh(3 * (mayer - 1))
    cross = np.tanh(20 * features["cross"].fillna(0.0))
    momentum = np.tanh(6 * features["ret_30"].fillna(0.0))
    rsi = (features["rsi"].fillna(50.0) - 50) / 50
    trend = (0.4 * above + 0.3 * cross + 0.3 * momentum).clip(-1, 1)
    calm = 1 - (features["ret_30"].fillna(0.0).abs() / 0.15).clip(0, 1)
    high_vol = ((features["vol_30"].fillna(0.6) - 0.6) / 0.6).clip(0, 1)
    scores = pd.DataFrame(
        {
            MarketRegime.BULL: 3 * trend.clip(lower=0) + 0.5 * rsi,
            MarketRegime.BEAR: 3 * (-trend).clip(lower=0) - 0.5 * rsi,
            MarketRegime.SIDEWAYS: 2 * calm * (1 - above.abs()),
            MarketRegime.ACCUMULATION: 2.5
            * _sigmoid(-10 * (mayer - 1))
            * _sigmoid(30 * features["ret_30"].fillna(0)),
            MarketRegime.DISTRIBUTION: 2.5
            * _sigmoid(10 * (mayer - 1.2))
            * _sigmoid(-30 * features["ret_30"].fillna(0)),
            MarketRegime.TRANSITION: (above - cross).abs() + high_vol,
        },
        index=features.index,
    )
    exp = np.exp(1.5 * (scores - scores.max(axis=1).to_numpy()[:, None]))
    return exp.div(exp.sum(axis=1), axis=0)[REGIMES]


# Describing a row -------------------------------------------------------------------------------


def _trend_strength(row) -> float:
    parts = [np.tanh(3 * (row.mayer - 1)), np.tanh(20 * row.cross), np.tanh(6 * row.ret_30)]
    parts = [p for p in parts if np.isfinite(p)]
    return float(np.clip(np.mean(parts), -1, 1)) if parts else 0.0


def _volatility_level(vol: float) -> str:
    if not np.isfinite(vol):
        return RiskLevel.MEDIUM
    return RISK_LEVELS[int(np.searchsorted([0.35, 0.65, 1.0], vol, side="right"))]


def _risk_level(row) -> str:
    index = RISK_LEVELS.index(_volatility_level(row.vol_30))
    if np.isfinite(row.mayer) and (row.mayer > 2.4 or row.mayer < 0.6):
        index += 1  # stretched far from the long-term mean: larger moves either way
    return RISK_LEVELS[min(index, 3)]


def _drivers(row) -> list[dict]:
    drivers = []
    for name, value, label in (
        ("mayer_multiple", row.mayer, "price / SMA-200"),
        ("sma_50_200_cross", row.cross, "SMA-50 / SMA-200 - 1"),
        ("rsi_14", row.rsi, "RSI-14"),
        ("return_30d", row.ret_30, "30-day return"),
        ("volatility_30d", row.vol_30, "30-day annualized volatility"),
    ):
        if np.isfinite(value):
            drivers.append({"name": name, "value": round(float(value), 4), "description": label})
    return drivers


def _agreement(row, regime: str) -> float:
    """Return the share of the rule signals (trend, cross, momentum, RSI) pointing the regime's way."""
    signs = [np.sign(row.mayer - 1), np.sign(row.cross), np.sign(row.ret_30), np.sign(row.rsi - 50)]
    signs = [s for s in signs if np.isfinite(s)]
    if not signs:
        return 0.0
    direction = {
        MarketRegime.BULL: 1,
        MarketRegime.ACCUMULATION: 1,
        MarketRegime.BEAR: -1,
        MarketRegime.DISTRIBUTION: -1,
    }.get(regime, 0)
    if direction == 0:  # sideways / transition: agreement is how mixed the signals are
        return 1 - abs(sum(signs)) / len(signs)
    return sum(1 for s in signs if s == direction) / len(signs)


def regime_rows_write(
    *,
    model,
    job,
    frame: pd.DataFrame,
    features: pd.DataFrame,
    probabilities: pd.DataFrame,
    in_sample_until=None,
) -> int:
    """Upsert one AIRegimeAnalysis per row of `frame` for `model`; return the rows written."""
    if frame.empty:
        return 0
    first_time = frame.index[0]
    before = (
        AIRegimeAnalysis.objects.filter(ai_model=model, analysis_time__lt=first_time)
        .order_by("-analysis_time")
        .values("regime", "analysis_time", "regime_duration_days")
        .first()
    )
    previous = before["regime"] if before else None
    run_started = (
        before["analysis_time"] - pd.Timedelta(days=before["regime_duration_days"]) if before else None
    )
    probabilities = probabilities[REGIMES]
    winners = probabilities.to_numpy().argmax(axis=1)
    rows = []
    for (time, snapshot_id), feature_row, probs, winner in zip(
        frame["id"].items(), features.itertuples(), probabilities.to_numpy(), winners, strict=True
    ):
        regime = REGIMES[winner]
        changed = previous is not None and previous != regime
        if previous is None or changed:
            run_started = time
        rounded = {r: round(float(p), 4) for r, p in zip(REGIMES, probs, strict=True)}
        strength = _trend_strength(feature_row)
        rows.append(
            AIRegimeAnalysis(
                metrics_snapshot_id=snapshot_id,
                ai_model=model,
                prediction_job=job,
                analysis_time=time,
                regime=regime,
                regime_probabilities=rounded,
                previous_regime=previous,
                regime_changed=changed,
                regime_duration_days=(time - run_started).days,
                trend_strength=Decimal(str(round(strength, 4))),
                volatility_level=_volatility_level(feature_row.vol_30),
                risk_level=_risk_level(feature_row),
                key_drivers=_drivers(feature_row),
                summary=f"{regime} ({rounded[regime]:.0%}); trend strength {strength:+.2f}",
                ai_confidence_score=Decimal(str(round(float(probs.max()), 2))),
                signal_agreement_score=Decimal(str(round(_agreement(feature_row, regime), 2))),
                analysis_data={
                    "architecture": model.architecture,
                    "in_sample": bool(in_sample_until is not None and time <= in_sample_until),
                },
            )
        )
        previous = regime
    AIRegimeAnalysis.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["metrics_snapshot", "ai_model"],
        update_fields=[
            "prediction_job",
            "analysis_time",
            "regime",
            "regime_probabilities",
            "previous_regime",
            "regime_changed",
            "regime_duration_days",
            "trend_strength",
            "volatility_level",
            "risk_level",
            "key_drivers",
            "summary",
            "ai_confidence_score",
            "signal_agreement_score",
            "analysis_data",
        ],
    )
    # In the job's transaction: listeners (alerts) write with the rows.
    regimes_created.send(sender=AIRegimeAnalysis, analyses=rows)
    return len(rows)


def _bounds(parameters: dict) -> tuple[datetime | None, datetime | None]:
    bounds = []
    for key in ("start", "end"):
        value = parameters.get(key)
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if value is not None and parsed is None:
            raise ValidationError({"parameters": f"{key} must be an ISO 8601 date-time, got {value!r}"})
        bounds.append(parsed)
    return bounds[0], bounds[1]


def _scope_frame(scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the snapshots and features of a prediction scope (features use earlier rows too)."""
    start, end = _bounds(scope.parameters)
    frame = snapshot_frame(timeframe=scope.timeframe, end=end)
    if frame.empty:
        raise ValidationError(f"no {scope.timeframe} metrics snapshots to analyse: build snapshots first")
    features = regime_features(frame)
    if start is not None:
        keep = frame.index >= start
        frame, features = frame[keep], features[keep]
    return frame, features


def regime_walk_forward(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    fit_predict,
    train_periods: int,
    test_periods: int,
    horizon: int,
) -> pd.DataFrame:
    """Return, for every row after the first training window, the walk-forward prediction and baselines.

    Each fold trains on the `train_periods` rows before it, keeping only rows whose label window
    ends by the fold's last training row (no look-ahead), then predicts the next `test_periods`
    rows. `fit_predict(train_index, test_features)` returns predicted regimes; the baseline
    predicts the training window's most common regime.
    """
    warmed = features["mayer"].notna().to_numpy()
    start = int(warmed.argmax()) if warmed.any() else len(features)  # after the SMA-200 warm-up
    features, labels = features.iloc[start:], labels.iloc[start:]
    parts = []
    for train_start, test_start, test_end in walk_forward_folds(
        len(features), train_periods=train_periods, test_periods=test_periods
    ):
        window = features.iloc[train_start:test_start]
        rows = training_rows(
            window, labels.iloc[train_start:test_start], cutoff=window.index[-1], horizon=horizon
        )
        if len(rows) < 30 or labels.loc[rows].nunique() < 2:
            continue
        test = features.iloc[test_start:test_end]
        parts.append(
            pd.DataFrame(
                {
                    "predicted": list(fit_predict(rows, test)),
                    "baseline": labels.loc[rows].mode().iloc[0],
                    "truth": labels.iloc[test_start:test_end],
                },
                index=test.index,
            )
        )
    return pd.concat(parts) if parts else pd.DataFrame(columns=["predicted", "baseline", "truth"])


class RegimeBase:
    model_type = ModelType.MACRO
    target_variable = "market_regime"
    features = FEATURES
    default_configuration = DEFAULT_CONFIGURATION

    def parameters_validate(self, *, parameters: dict, asset=None, sector=None) -> None:
        """Raise ValidationError for parameters this model does not understand."""
        _bounds(parameters)

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series):
        """Return the walk-forward callable of this architecture (train rows, test features -> regimes)."""
        raise NotImplementedError

    def evaluate(self, *, model, timeframe: str, parameters: dict) -> dict:
        """Walk forward over every snapshot: accuracy and macro-F1 against the majority-regime baseline."""
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        horizon = int(configuration["horizon"])
        features = regime_features(snapshot_frame(timeframe=timeframe))
        labels = forward_labels(features, configuration)
        folds = regime_walk_forward(
            features,
            labels,
            fit_predict=self.fit_predict(features, labels),
            train_periods=int(parameters.get("train_periods", configuration.get("train_periods", 730))),
            test_periods=int(parameters.get("test_periods", configuration.get("test_periods", 180))),
            horizon=horizon,
        )
        scored = folds[folds["truth"].notna()]
        if len(scored) < 2:
            raise ValidationError(
                f"too few {timeframe} snapshots for a walk-forward: build more history first"
            )
        return {
            "kind": "classification",
            "figures": classification_figures(scored["truth"], scored["predicted"])
            | {"predicted_distribution": scored["predicted"].value_counts().to_dict()},
            "baseline": classification_figures(scored["truth"], scored["baseline"])
            | {"name": "majority regime"},
            "period_start": scored.index[0],
            "period_end": scored.index[-1],
            "sample_size": len(scored),
            "extra": {"truth_distribution": scored["truth"].value_counts().to_dict(), "horizon": horizon},
            "notes": f"walk-forward, labels from the next {horizon} periods; baseline: the training window's "
            "most common regime",
        }


@register("regime_rules")
class RegimeRules(RegimeBase):
    """The rule baseline: no training, the same answer for the same indicators."""

    trainable = False
    framework = "rules"

    def history(self, *, timeframe: str) -> pd.DataFrame:
        """Return the rule probabilities of every snapshot of `timeframe` (each from rows up to it)."""
        return rule_probabilities(regime_features(snapshot_frame(timeframe=timeframe)))

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series):
        """Return the rules as a walk-forward callable (they learn nothing from the training rows)."""
        return lambda rows, test: rule_probabilities(test).idxmax(axis=1)

    def predict(self, *, model, job, scope) -> int:
        """Write the regime of every snapshot in scope; return the rows written."""
        frame, features = _scope_frame(scope)
        scope.checkpoint(40)
        probabilities = rule_probabilities(features)
        scope.checkpoint(70)
        return regime_rows_write(
            model=model, job=job, frame=frame, features=features, probabilities=probabilities
        )


def classifier_fit(features: pd.DataFrame, labels: pd.Series, rows: pd.Index) -> "RandomForestClassifier":
    """Return a random-forest classifier fitted on `rows` (NaN features allowed; one core, seeded)."""
    # Imported here: scikit-learn costs every manage.py command ~1 s of start-up otherwise.
    from sklearn.ensemble import RandomForestClassifier

    estimator = RandomForestClassifier(
        n_estimators=150,
        max_depth=6,
        min_samples_leaf=10,
        class_weight="balanced_subsample",
        n_jobs=1,
        random_state=0,
    )
    estimator.fit(features.loc[rows, FEATURES].to_numpy(), labels.loc[rows].to_numpy())
    return estimator


def classifier_probabilities(estimator, features: pd.DataFrame) -> pd.DataFrame:
    """Return the six-regime probabilities of `estimator` (regimes it never saw get 0)."""
    raw = estimator.predict_proba(features[FEATURES].to_numpy())
    probabilities = pd.DataFrame(0.0, index=features.index, columns=REGIMES)
    for column, regime in enumerate(estimator.classes_):
        probabilities[regime] = raw[:, column]
    return probabilities


@register("regime_forest")
class RegimeClassifier(RegimeBase):
    """A random-forest classifier of the forward regime (scikit-learn)."""

    trainable = True
    framework = "scikit-learn"

    def fit(self, *, model, window) -> dict:
        """Train on snapshots up to the window's end; score a time-ordered holdout first."""
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        horizon = int(configuration["horizon"])
        frame = snapshot_frame(timeframe=window.timeframe, end=window.end)
        if window.start is not None:
            frame = frame[frame.index >= window.start]
        features = regime_features(frame)
        labels = forward_labels(features, configuration)
        if frame.empty:
            raise ValidationError(f"no {window.timeframe} metrics snapshots to train on")
        cutoff = window.end or frame.index[-1]
        rows = training_rows(features, labels, cutoff=cutoff, horizon=horizon)
        if len(rows) < 100:
            raise ValidationError(f"only {len(rows)} labelled snapshots to train on; at least 100 are needed")
        window.checkpoint(30)
        # Honest holdout: train on the first 80%, leave a horizon gap, score the rest.
        split = int(len(rows) * 0.8)
        holdout = rows[split + horizon :]
        metrics = {"training_rows": len(rows)}
        if len(holdout) >= 20:
            early = classifier_fit(features, labels, rows[:split])
            predicted = classifier_probabilities(early, features.loc[holdout]).idxmax(axis=1)
            figures = classification_figures(labels.loc[holdout], predicted)
            metrics |= {
                "holdout_rows": len(holdout),
                "holdout_accuracy": round(figures["accuracy"], 4),
                "holdout_macro_f1": round(figures["f1_score"], 4),
            }
        window.checkpoint(60)
        estimator = classifier_fit(features, labels, rows)
        return {
            "estimator": estimator,
            "features": FEATURES,
            "configuration": configuration,
            "cutoff": rows[-1].isoformat(),
            "metrics": metrics,
            "data_range": {
                "start": rows[0].isoformat(),
                "end": rows[-1].isoformat(),
                "timeframe": window.timeframe,
            },
        }

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series):
        """Return a walk-forward callable that fits a fresh classifier on each fold's training rows."""
        return lambda rows, test: classifier_probabilities(
            classifier_fit(features, labels, rows), test
        ).idxmax(axis=1)

    def predict(self, *, model, job, scope) -> int:
        """Write the classifier's regime of every snapshot in scope; return the rows written."""
        artifact = artifact_load(model=model)
        frame, features = _scope_frame(scope)
        scope.checkpoint(40)
        probabilities = classifier_probabilities(artifact["estimator"], features)
        scope.checkpoint(70)
        return regime_rows_write(
            model=model,
            job=job,
            frame=frame,
            features=features,
            probabilities=probabilities,
            in_sample_until=pd.Timestamp(artifact["cutoff"]),
        )
