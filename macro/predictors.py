"""Layer 1: market regime models over MetricsSnapshot rows, writing AIRegimeAnalysis.

The regime of a day is a market STATE defined with hindsight over a window of `label_window`
days each side (docs/regimes.md; `regime_labels`); the models NOWCAST it from trailing data only.
Two architectures: `regime_rules` (a transparent rule baseline written from the definition, no
training) and `regime_forest` (a scikit-learn random forest on the same trailing features). A
feature at t uses rows up to t; a label at t is known only at t + label_window, so training keeps
only rows whose label window ends by the training cutoff.
"""

import hashlib
from collections import OrderedDict
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
FEATURES = ["mayer", "cross", "rsi", "ret_7", "ret_30", "ret_90", "vol_30", "drawdown_365", "dist_ema_200"]
RISK_LEVELS = list(RiskLevel.values)  # low, medium, high, extreme
DEFAULT_CONFIGURATION = {
    "label_window": 30,  # days each side of a day that its regime label looks at
    "trend_return": 0.15,  # |close(t + w) / close(t - w) - 1| that makes a trend
    "turn_return": 0.10,  # the move each side of a top or bottom that makes a transition
    "accumulation_mayer": 0.9,  # a range below this close / SMA-200 is accumulation
    "distribution_mayer": 1.3,  # a range above it is distribution
    "train_periods": 730,
    "test_periods": 180,
    # regime_forest's hyper-parameters, fixed beforehand (never searched on an evaluated period).
    "forest": {"n_estimators": 150, "max_depth": 6, "min_samples_leaf": 10},
    "thresholds": {"min_balanced_accuracy_edge": 0.0, "min_kappa_edge": 0.0},
    "bootstrap": {"replications": 1000, "block": 20, "seed": 0},
}
SEED = 0


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
            "ret_90": close.pct_change(90),
            "vol_30": pd.Series(indicators["volatility_30"], index=frame.index),
            "drawdown_365": close / close.rolling(365, min_periods=1).max() - 1,
            "dist_ema_200": close / ema_200 - 1,
        },
        index=frame.index,
    )


def regime_labels(features: pd.DataFrame, configuration: dict) -> pd.Series:
    """Return the regime each day was in, judged with hindsight (docs/regimes.md); NaN where unknown.

    With w = label_window, back = close(t) / close(t - w) - 1 and ahead = close(t + w) / close(t) - 1:
    a Transition is a top or bottom (back and ahead of opposite signs, each at least turn_return);
    else Bull / Bear when the 2w-day move close(t + w) / close(t - w) - 1 is at least trend_return
    up / down; else the market ranges, and the range is Accumulation below an SMA-200 multiple of
    accumulation_mayer, Distribution above distribution_mayer, Sideways between. A label needs
    the close w days later, so it is known only then.
    """
    window = int(configuration["label_window"])
    close, mayer = features["close"], features["mayer"]
    back = close / close.shift(window) - 1
    ahead = close.shift(-window) / close - 1
    move = close.shift(-window) / close.shift(window) - 1
    turn = configuration["turn_return"]
    trend = configuration["trend_return"]
    labels = np.select(
        [
            (np.sign(back) != np.sign(ahead)) & (back.abs() >= turn) & (ahead.abs() >= turn),
            move >= trend,
            move <= -trend,
            mayer < configuration["accumulation_mayer"],
            mayer > configuration["distribution_mayer"],
        ],
        [
            MarketRegime.TRANSITION,
            MarketRegime.BULL,
            MarketRegime.BEAR,
            MarketRegime.ACCUMULATION,
            MarketRegime.DISTRIBUTION,
        ],
        default=MarketRegime.SIDEWAYS,
    )
    known = move.notna() & mayer.notna()
    return pd.Series(labels, index=features.index, dtype=object).where(known)


def training_rows(features: pd.DataFrame, labels: pd.Series, *, cutoff, horizon: int) -> pd.Index:
    """Return the rows usable for training: features known and label window ending by `cutoff`."""
    times = features.index.to_series()
    label_end = times.shift(-horizon)
    usable = labels.notna() & label_end.notna() & (label_end <= cutoff) & features["mayer"].notna()
    return features.index[usable.to_numpy()]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rule_probabilities(features: pd.DataFrame, configuration: dict | None = None) -> pd.DataFrame:
    """Return the rule baseline's nowcast of the regime for each row (rows sum to 1).

    The rules read the label definition backwards from trailing data: the 30-day move stands
    for the trend, a last week against it for a turn, and the SMA-200 multiple places a range.
    """
    configuration = {**DEFAULT_CONFIGURATION, **(configuration or {})}
    mayer = features["mayer"].fillna(1.0)
    month = features["ret_30"].fillna(0.0)
    week = features["ret_7"].fillna(0.0)
    trend = np.tanh(month / (configuration["trend_return"] / 1.5))
    calm = 1 - (month.abs() / configuration["trend_return"]).clip(0, 1)
    turn = (-np.sign(month) * week / 0.05).clip(0, 1) * (month.abs() / configuration["turn_return"]).clip(
        0, 1
    )
    low = _sigmoid(-15 * (mayer - configuration["accumulation_mayer"]))
    high = _sigmoid(15 * (mayer - configuration["distribution_mayer"]))
    scores = pd.DataFrame(
        {
            MarketRegime.BULL: 3 * trend.clip(lower=0) * (1 - turn),
            MarketRegime.BEAR: 3 * (-trend).clip(lower=0) * (1 - turn),
            MarketRegime.TRANSITION: 3 * turn,
            MarketRegime.ACCUMULATION: 2.5 * calm * low,
            MarketRegime.DISTRIBUTION: 2.5 * calm * high,
            MarketRegime.SIDEWAYS: 2.5 * calm * (1 - low - high).clip(lower=0),
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
    in_sample: pd.Series | None = None,
) -> int:
    """Upsert one AIRegimeAnalysis per row of `frame` for `model`; return the rows written.

    `in_sample` marks the rows whose time the model's training data covered.
    """
    if frame.empty:
        return 0
    first_time = frame.index[0]
    before = (
        AIRegimeAnalysis.objects.filter(ai_model=model, analysis_time__lt=first_time, in_sample=False)
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
                in_sample=bool(in_sample is not None and in_sample.get(time, False)),
                analysis_data={"architecture": model.architecture},
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
            "in_sample",
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


def _scope_frame(scope, configuration: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the snapshots and features of a prediction scope (features use earlier rows too).

    With a `configuration` the features also carry the latest known regime (`with_known_regime`).
    """
    start, end = _bounds(scope.parameters)
    frame = snapshot_frame(timeframe=scope.timeframe, end=end)
    if frame.empty:
        raise ValidationError(f"no {scope.timeframe} metrics snapshots to analyse: build snapshots first")
    features = regime_features(frame)
    if configuration is not None:
        features = with_known_regime(features, regime_labels(features, configuration), configuration)
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
    """Return, for every row after the first training window, the walk-forward nowcast and baselines.

    Each fold trains on the `train_periods` rows before it, keeping only rows whose label window
    ends by the fold's last training row (no look-ahead), then predicts the next `test_periods`
    rows. `fit_predict(train_index, test_features)` returns regime probabilities. Beside the
    prediction and its probabilities: `majority` (the training rows' most common regime),
    `persistence` (the latest label known at the time: `horizon` rows earlier) and
    `random_prior` (a seeded draw from the training rows' regime frequencies).
    """
    warmed = features["mayer"].notna().to_numpy()
    start = int(warmed.argmax()) if warmed.any() else len(features)  # after the SMA-200 warm-up
    known_label = labels.shift(horizon)
    features, labels, known_label = features.iloc[start:], labels.iloc[start:], known_label.iloc[start:]
    rng = np.random.default_rng(SEED)
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
        probabilities = fit_predict(rows, test)[REGIMES]
        prior = labels.loc[rows].value_counts(normalize=True)
        majority = prior.index[0]
        parts.append(
            pd.concat(
                [
                    pd.DataFrame(
                        {
                            "predicted": probabilities.idxmax(axis=1),
                            "majority": majority,
                            "persistence": known_label.iloc[test_start:test_end].fillna(majority),
                            "random_prior": rng.choice(
                                prior.index.to_numpy(), size=len(test), p=prior.to_numpy()
                            ),
                            "truth": labels.iloc[test_start:test_end],
                        },
                        index=test.index,
                    ),
                    probabilities,
                ],
                axis=1,
            )
        )
    columns = ["predicted", "majority", "persistence", "random_prior", "truth", *REGIMES]
    return pd.concat(parts) if parts else pd.DataFrame(columns=columns)


def _walk_forward_settings(configuration: dict, parameters: dict | None = None) -> dict:
    parameters = parameters or {}
    return {
        "train_periods": int(parameters.get("train_periods", configuration["train_periods"])),
        "test_periods": int(parameters.get("test_periods", configuration["test_periods"])),
        "horizon": int(configuration["label_window"]),
    }


class RegimeBase:
    model_type = ModelType.MACRO
    target_variable = "market_regime"
    features = FEATURES
    default_configuration = DEFAULT_CONFIGURATION

    def parameters_validate(self, *, parameters: dict, asset=None, sector=None) -> None:
        """Raise ValidationError for parameters this model does not understand."""
        _bounds(parameters)

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series, configuration: dict):
        """Return the walk-forward callable (train rows, test features -> regime probabilities)."""
        raise NotImplementedError

    def walk_forward(self, *, timeframe: str, configuration: dict, parameters: dict | None = None):
        """Return the walk-forward nowcasts, probabilities and baselines over every snapshot."""
        features = regime_features(snapshot_frame(timeframe=timeframe))
        labels = regime_labels(features, configuration)
        return regime_walk_forward(
            features,
            labels,
            fit_predict=self.fit_predict(features, labels, configuration),
            **_walk_forward_settings(configuration, parameters),
        )

    def history(self, *, timeframe: str, configuration: dict | None = None) -> pd.DataFrame:
        """Return out-of-sample regime probabilities of the snapshots (each from a model fitted before it)."""
        configuration = {**DEFAULT_CONFIGURATION, **(configuration or {})}
        return self.walk_forward(timeframe=timeframe, configuration=configuration)[REGIMES]

    def evaluate(self, *, model, timeframe: str, parameters: dict) -> dict:
        """Walk forward over every snapshot; return the nowcasts, the truth and the three baselines."""
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        folds = self.walk_forward(timeframe=timeframe, configuration=configuration, parameters=parameters)
        scored = folds[folds["truth"].notna()]
        if len(scored) < 2:
            raise ValidationError(
                f"too few {timeframe} snapshots for a walk-forward: build more history first"
            )
        window = configuration["label_window"]
        return {
            "kind": "classification",
            "truth": scored["truth"],
            "predicted": scored["predicted"],
            "baselines": {name: scored[name] for name in ("majority", "persistence", "random_prior")},
            "period_start": scored.index[0],
            "period_end": scored.index[-1],
            "extra": {
                "truth_distribution": scored["truth"].value_counts().to_dict(),
                "label_window": window,
            },
            "notes": f"walk-forward nowcast of the regime (docs/regimes.md: +/-{window} days with "
            "hindsight); baselines: the training window's majority regime, the latest known regime "
            "(persistence) and a draw from the training window's regime frequencies",
        }


@register("regime_rules")
class RegimeRules(RegimeBase):
    """The rule baseline: no training, the same answer for the same indicators."""

    trainable = False
    framework = "rules"

    def history(self, *, timeframe: str, configuration: dict | None = None) -> pd.DataFrame:
        """Return the rule probabilities of every snapshot of `timeframe` (each from rows up to it)."""
        return rule_probabilities(regime_features(snapshot_frame(timeframe=timeframe)), configuration)

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series, configuration: dict):
        """Return the rules as a walk-forward callable (they learn nothing from the training rows)."""
        return lambda rows, test: rule_probabilities(test, configuration)

    def predict(self, *, model, job, scope) -> int:
        """Write the regime of every snapshot in scope; return the rows written."""
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        frame, features = _scope_frame(scope)
        scope.checkpoint(40)
        probabilities = rule_probabilities(features, configuration)
        scope.checkpoint(70)
        return regime_rows_write(
            model=model, job=job, frame=frame, features=features, probabilities=probabilities
        )


KNOWN_FEATURES = [f"known_{regime}" for regime in REGIMES]
FOREST_FEATURES = [*FEATURES, *KNOWN_FEATURES]


def with_known_regime(features: pd.DataFrame, labels: pd.Series, configuration: dict) -> pd.DataFrame:
    """Return `features` with one-hot columns of the latest regime known at each row.

    A label needs `label_window` rows after its own, so the latest one known at t is that of
    t - label_window: trailing information, like persistence, which the forest may improve on.
    """
    known = labels.shift(int(configuration["label_window"]))
    columns = {f"known_{regime}": (known == regime).astype(float) for regime in REGIMES}
    return features.assign(**columns)


def classifier_fit(
    features: pd.DataFrame, labels: pd.Series, rows: pd.Index, forest: dict | None = None
) -> "RandomForestClassifier":
    """Return a random-forest classifier fitted on `rows` (NaN features allowed; one core, seeded)."""
    # Imported here: scikit-learn costs every manage.py command ~1 s of start-up otherwise.
    from sklearn.ensemble import RandomForestClassifier

    parameters = {**DEFAULT_CONFIGURATION["forest"], **(forest or {})}
    x, y = features.loc[rows, FOREST_FEATURES].to_numpy(), labels.loc[rows].to_numpy()
    # A seeded forest on the same rows is the same forest: training and then evaluating a model
    # walk forward over the same folds, and this fit is most of their time.
    key = hashlib.blake2b(repr(sorted(parameters.items())).encode(), digest_size=16)
    key.update(np.ascontiguousarray(x, dtype=float).tobytes())
    key.update("\x1f".join(map(str, y)).encode())
    key = key.digest()
    if key in _FITTED:
        _FITTED.move_to_end(key)
        return _FITTED[key]
    estimator = RandomForestClassifier(
        **parameters, class_weight="balanced_subsample", n_jobs=1, random_state=SEED
    )
    estimator.fit(x, y)
    _FITTED[key] = estimator
    while len(_FITTED) > FITTED_KEPT:
        _FITTED.popitem(last=False)
    return estimator


# The forests fitted last in this process, by a digest of their parameters and rows (classifier_fit).
_FITTED: OrderedDict = OrderedDict()
FITTED_KEPT = 32  # a walk-forward over the demo's history has 13 folds


def classifier_probabilities(estimator, features: pd.DataFrame, columns=FOREST_FEATURES) -> pd.DataFrame:
    """Return the six-regime probabilities of `estimator` (regimes it never saw get 0)."""
    raw = estimator.predict_proba(features[list(columns)].to_numpy())
    probabilities = pd.DataFrame(0.0, index=features.index, columns=REGIMES)
    for column, regime in enumerate(estimator.classes_):
        probabilities[regime] = raw[:, column]
    return probabilities


@register("regime_forest")
class RegimeClassifier(RegimeBase):
    """A random-forest nowcast of the regime (scikit-learn)."""

    trainable = True
    framework = "scikit-learn"

    def fit(self, *, model, window) -> dict:
        """Train on snapshots up to the window's end, and keep the walk-forward nowcasts up to it.

        The walk-forward probabilities (each from a forest fitted on earlier rows only) are what
        `predict` writes for the training period, so its history is out of sample.
        """
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        horizon = int(configuration["label_window"])
        frame = snapshot_frame(timeframe=window.timeframe, end=window.end)
        if window.start is not None:
            frame = frame[frame.index >= window.start]
        if frame.empty:
            raise ValidationError(f"no {window.timeframe} metrics snapshots to train on")
        features = regime_features(frame)
        labels = regime_labels(features, configuration)
        features = with_known_regime(features, labels, configuration)
        cutoff = window.end or frame.index[-1]
        rows = training_rows(features, labels, cutoff=cutoff, horizon=horizon)
        if len(rows) < 100:
            raise ValidationError(f"only {len(rows)} labelled snapshots to train on; at least 100 are needed")
        window.checkpoint(20)
        folds = regime_walk_forward(
            features,
            labels,
            fit_predict=self.fit_predict(features, labels, configuration),
            **_walk_forward_settings(configuration, window.parameters),
        )
        metrics = {"training_rows": len(rows), "walk_forward_rows": len(folds)}
        scored = folds[folds["truth"].notna()]
        if len(scored) >= 20:
            figures = classification_figures(scored["truth"], scored["predicted"])
            metrics |= {
                "walk_forward_balanced_accuracy": round(figures["balanced_accuracy"], 4),
                "walk_forward_kappa": None
                if figures["cohen_kappa"] is None
                else round(figures["cohen_kappa"], 4),
            }
        window.checkpoint(70)
        estimator = classifier_fit(features, labels, rows, configuration["forest"])
        return {
            "estimator": estimator,
            "features": FOREST_FEATURES,
            "configuration": configuration,
            "cutoff": rows[-1].isoformat(),
            "walk_forward": folds[REGIMES],
            "metrics": metrics,
            "data_range": {
                "start": rows[0].isoformat(),
                "end": rows[-1].isoformat(),
                "timeframe": window.timeframe,
            },
        }

    def fit_predict(self, features: pd.DataFrame, labels: pd.Series, configuration: dict):
        """Return a walk-forward callable that fits a fresh classifier on each fold's training rows."""
        forest = configuration["forest"]
        known = with_known_regime(features, labels, configuration)
        return lambda rows, test: classifier_probabilities(
            classifier_fit(known, labels, rows, forest), known.loc[test.index]
        )

    def predict(self, *, model, job, scope) -> int:
        """Write the regime of every snapshot in scope; return the rows written.

        Up to the training cutoff a row carries the walk-forward nowcast kept at training; where
        there is none (the first training window) it carries the trained forest's answer and is
        marked in-sample; after the cutoff it is the trained forest's out-of-sample nowcast.
        """
        artifact = artifact_load(model=model)
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        frame, features = _scope_frame(scope, configuration)
        scope.checkpoint(40)
        probabilities = classifier_probabilities(
            artifact["estimator"], features, artifact.get("features", FEATURES)
        )
        cutoff = pd.Timestamp(artifact["cutoff"])
        walk_forward = artifact.get("walk_forward")
        in_sample = pd.Series(features.index <= cutoff, index=features.index)
        if walk_forward is not None and len(walk_forward):
            known = walk_forward.reindex(features.index)
            replaced = known.notna().all(axis=1) & in_sample
            probabilities[replaced] = known[replaced]
            in_sample &= ~replaced
        scope.checkpoint(70)
        return regime_rows_write(
            model=model,
            job=job,
            frame=frame,
            features=features,
            probabilities=probabilities,
            in_sample=in_sample,
        )
