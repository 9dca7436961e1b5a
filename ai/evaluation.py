"""Walk-forward evaluation of models, stored as ModelEvaluation rows beside their baselines.

Each architecture's `evaluate(*, model, timeframe, parameters)` runs its own walk-forward (train
on a window, predict the next one, slide) and returns what it decided, never a verdict:

- a strategy (`kind` "trading") returns `opens` and `closes` (time x instrument frames), the
  `decisions` taken at each close (an instrument, or None for cash), the `benchmark` instrument
  and its `benchmark_history` of closes (for the SMA-200 rule's warm-up);
- a classifier (`kind` "classification") returns the `truth`, its `predicted` labels and the
  `baselines`' labels (majority, persistence, random_prior), all indexed by time;

plus `period_start`, `period_end`, `notes` and `extra`. This module backtests, compares and
judges all of them the same way.

Execution ("next_bar_open"): a decision taken at the close of bar t is filled at the open of bar
t + 1; every position change (an entry, an exit; a switch is both) pays the fee and the slippage
in basis points of the model's configuration (`fee_bp` 10, `slippage_bp` 5 by default). Equity
is marked at every close; a position still open at the end is marked there, not sold. A
strategy with resting orders also returns `exits`, the price at which a stop (or target) closed
its position within a bar, and `execution`, its own notes on how it fills (stored with the rule).

Strategies are compared with buy-and-hold of the benchmark and the 200-period SMA trend rule
(long the benchmark while its close is above its SMA-200), both under the same execution;
classifiers with the training window's majority class, persistence (the latest label already
known at the time) and a draw from the training window's class frequencies. `passed` holds only
if the model beats every baseline by the configured margin AND the lower bound of the 95%
stationary-bootstrap interval of the difference is above that margin (Sharpe ratio for
strategies; balanced accuracy and Cohen's kappa for classifiers).
"""

import math
import warnings
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError

from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.numbers import jsonable

from . import metrics
from .choices import EvaluationType
from .models import AIModel, ModelEvaluation
from .registry import architecture_get

COLUMNS = (
    "accuracy", "precision", "recall", "f1_score", "total_return", "annualized_return", "max_drawdown",
    "cagr", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "profit_factor", "win_rate",
)  # fmt: skip
EXECUTION_RULE = "next_bar_open"
DEFAULT_EXECUTION = {"fee_bp": 10.0, "slippage_bp": 5.0}
BOOTSTRAP = {"replications": 1000, "block": 20.0, "seed": 0}
STRATEGY_THRESHOLDS = {"min_sharpe_edge": 0.0, "max_drawdown": 1.0}
CLASSIFIER_THRESHOLDS = {"min_balanced_accuracy_edge": 0.0, "min_kappa_edge": 0.0}
CURVE_POINTS = 2000
SMA_PERIODS = 200


def walk_forward_folds(count: int, *, train_periods: int, test_periods: int) -> list[tuple[int, int, int]]:
    """Return (train start, test start, test end) positions: train on [start, test start), test the next."""
    folds = []
    test_start = train_periods
    while test_start < count:
        folds.append((test_start - train_periods, test_start, min(count, test_start + test_periods)))
        test_start += test_periods
    return folds


def periods_per_year(timeframe: str) -> float:
    """Return how many bars of `timeframe` make a year (12 for a calendar month)."""
    delta = TIMEFRAME_DELTAS.get(timeframe)
    return 12.0 if delta is None else timedelta(days=365) / delta


# Execution ---------------------------------------------------------------------------------------


def execution_of(configuration: dict, parameters: dict | None = None) -> dict:
    """Return the execution rule, fee and slippage (bp) of a model's configuration and a run's parameters."""
    execution = {"rule": EXECUTION_RULE}
    for key, default in DEFAULT_EXECUTION.items():
        value = (parameters or {}).get(key, (configuration or {}).get(key, default))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10_000:
            raise ValidationError({key: f"must be a number of basis points in [0, 10000), got {value!r}"})
        execution[key] = float(value)
    return execution


def backtest(
    opens, closes, decisions, *, fee_bp: float, slippage_bp: float, periods: float = 365, exits=None
) -> dict:
    """Return the equity curve, per-bar returns, trades and figures of a series of decisions.

    `opens` and `closes` are frames (time x instrument; a Series is one instrument); `decisions`
    holds, at each close, the instrument to hold from the next open (None, NaN or 0 for cash; 1
    for a Series' only instrument). A missing open is taken as the previous close. `exits`
    (same shape as `closes`, NaN where none) is the price at which a resting order (a stop, a
    target) closed the held instrument within a bar: the position is sold there, pays the cost,
    and the next decision starts from cash.
    """
    if isinstance(closes, pd.Series):
        closes, opens = closes.to_frame("asset"), pd.Series(opens, index=closes.index).to_frame("asset")
        decisions = ["asset" if d == 1 else None for d in decisions]
        if exits is not None:
            exits = pd.Series(exits, index=closes.index).to_frame("asset")
    decisions = pd.Series(list(decisions), index=closes.index, dtype=object)
    close = closes.ffill().to_numpy(dtype=float)
    open_ = opens.reindex_like(closes).to_numpy(dtype=float)
    open_ = np.where(np.isfinite(open_), open_, np.vstack([close[:1], close[:-1]]))
    exit_ = np.full(close.shape, np.nan) if exits is None else exits.reindex_like(closes).to_numpy(float)
    column = {name: i for i, name in enumerate(closes.columns)}
    wanted = [None if d is None or (isinstance(d, float) and np.isnan(d)) else column[d] for d in decisions]
    cost = (fee_bp + slippage_bp) / 10_000
    bars = len(closes)
    equity = np.ones(bars)
    held = np.zeros(max(bars - 1, 0), dtype=bool)
    trades, holding, current, entry_value, entry_bar = [], [], None, 1.0, 0
    for t in range(bars - 1):
        target, value = wanted[t], equity[t]
        mark = close[t, current] if current is not None else None  # the price `value` is marked at
        if target != current:
            if current is not None:  # sell at the next open, pay the cost
                value *= open_[t + 1, current] / mark * (1 - cost)
                trades.append(value / entry_value - 1)
                holding.append(t + 1 - entry_bar)
            if target is not None:  # buy at the next open, pay the cost
                entry_value, entry_bar = value, t + 1
                value *= 1 - cost
                mark = open_[t + 1, target]
            current = target
        held[t] = current is not None
        if current is not None:
            if np.isfinite(exit_[t + 1, current]):  # a resting order filled within the bar
                value *= exit_[t + 1, current] / mark * (1 - cost)
                trades.append(value / entry_value - 1)
                holding.append(t + 2 - entry_bar)
                current = None
            else:  # earn to the close
                value *= close[t + 1, current] / mark
        equity[t + 1] = value if np.isfinite(value) else equity[t]
    open_trade = current is not None
    if open_trade:  # marked at the last close
        trades.append(equity[-1] / entry_value - 1)
        holding.append(bars - entry_bar)
    figures = metrics.performance(equity, trades, periods) | metrics.trade_figures(trades, holding)
    returns = metrics.returns_of(equity)
    figures |= {
        "exposure": float(held.mean()) if len(held) else 0.0,
        "open_trade_at_end": open_trade,
        "probabilistic_sharpe_ratio": metrics.probabilistic_sharpe_ratio(returns),
    }
    return {"equity": equity, "returns": returns, "trades": trades, "figures": figures}


def sma_trend_decisions(history_close: pd.Series, index: pd.Index, periods: int = SMA_PERIODS) -> pd.Series:
    """Return 1 where the close is above its `periods`-bar SMA (from closes up to then), else 0."""
    history_close = history_close.dropna()
    sma = history_close.rolling(periods).mean()
    return (history_close > sma).astype(int).reindex(index).fillna(0).astype(int)


# Reports -----------------------------------------------------------------------------------------


def _drawdown(equity: np.ndarray) -> np.ndarray:
    return equity / np.maximum.accumulate(equity) - 1


def _period_returns(equity: pd.Series, period: str) -> dict:
    """Return {period label: return} of an equity curve starting at 1.0 ("M" months, "Y" years)."""
    labels = equity.index.strftime("%Y-%m" if period == "M" else "%Y")
    last = equity.groupby(labels).last()
    before = last.shift(1).fillna(equity.iloc[0])
    return {label: round(float(value), 6) for label, value in (last / before - 1).items()}


def curves_of(times: pd.Index, equities: dict[str, np.ndarray], *, points: int = CURVE_POINTS) -> dict:
    """Return equity and drawdown curves (at most `points`), monthly and yearly returns of each equity."""
    index = pd.DatetimeIndex(times)
    step = max(1, math.ceil(len(index) / points))
    keep = np.unique(np.r_[np.arange(0, len(index), step), len(index) - 1])
    daily = all(t.hour == 0 and t.minute == 0 for t in index[keep])
    curves = {
        "time": [t.strftime("%Y-%m-%d") if daily else t.isoformat() for t in index[keep]],
        "series": {},
        "monthly_returns": {},
        "yearly_returns": {},
    }
    for name, equity in equities.items():
        equity = np.asarray(equity, dtype=float)
        curves["series"][name] = {
            "equity": [round(float(v), 6) for v in equity[keep]],
            "drawdown": [round(float(v), 6) for v in _drawdown(equity)[keep]],
        }
        series = pd.Series(equity, index=index)
        curves["monthly_returns"][name] = _period_returns(series, "M")
        curves["yearly_returns"][name] = _period_returns(series, "Y")
    return curves


# Comparing and judging ---------------------------------------------------------------------------


def _bootstrap_settings(configuration: dict) -> dict:
    return {**BOOTSTRAP, **((configuration or {}).get("bootstrap") or {})}


def _bootstrap_draws(settings: dict, n: int) -> dict:
    """Return bootstrap_difference's settings with its resampling positions, drawn once for every
    baseline: the same seed draws the same positions, and drawing them was a third of a report."""
    draws = {
        "replications": int(settings["replications"]),
        "block": float(settings["block"]),
        "seed": int(settings["seed"]),
    }
    return draws | {"positions": metrics.stationary_bootstrap_indices(n, **draws)}


def comparison_entry(
    *, metric: str, model: float | None, baseline: float | None, interval: dict, margin: float
):
    """Return one baseline's comparison as stored in `metrics["comparison"]`."""
    return {
        "metric": metric,
        "model": model,
        "baseline": baseline,
        "difference": interval["difference"],
        "ci_low": interval["ci_low"],
        "ci_high": interval["ci_high"],
        "p_value": interval["p_value"],
        "margin": margin,
    }


def beats(entry: dict) -> bool:
    """Return True when a comparison shows an edge above its margin with confidence."""
    difference, low, margin = entry["difference"], entry["ci_low"], entry["margin"]
    return difference is not None and low is not None and difference > margin and low > margin


def _trial_sharpes(model: AIModel, timeframe: str, periods: float) -> list[float]:
    """Return the per-period Sharpe ratios of the architecture's earlier evaluations (other trials)."""
    stored = ModelEvaluation.objects.filter(
        model__architecture=model.architecture, timeframe=timeframe, sharpe_ratio__isnull=False
    ).values_list("sharpe_ratio", flat=True)
    return [float(s) / math.sqrt(periods) for s in stored]


def strategy_report(*, model: AIModel, result: dict, timeframe: str, configuration: dict) -> dict:
    """Backtest a strategy's decisions and both baselines; return figures, comparisons and curves."""
    # The strategy's own notes on how it fills (intrabar stops, estimated opens) join the rule.
    execution = execution_of(configuration, result.get("parameters")) | result.get("execution", {})
    periods = periods_per_year(timeframe)
    costs = {"fee_bp": execution["fee_bp"], "slippage_bp": execution["slippage_bp"], "periods": periods}
    opens, closes, benchmark = result["opens"], result["closes"], result["benchmark"]
    runs = {"model": backtest(opens, closes, result["decisions"], exits=result.get("exits"), **costs)}
    hold = pd.Series(benchmark, index=closes.index, dtype=object)
    runs["buy_and_hold"] = backtest(opens, closes, hold, **costs)
    trend = sma_trend_decisions(result["benchmark_history"], closes.index)
    runs["sma_200"] = backtest(opens, closes, trend.map({1: benchmark, 0: None}), **costs)
    thresholds = {**STRATEGY_THRESHOLDS, **(configuration.get("thresholds") or {})}
    margin = float(thresholds["min_sharpe_edge"])
    settings = _bootstrap_settings(configuration)
    figures = runs["model"]["figures"]
    dsr, trials = metrics.deflated_sharpe_ratio(
        runs["model"]["returns"], trial_sharpes=_trial_sharpes(model, timeframe, periods)
    )
    figures |= {"deflated_sharpe_ratio": dsr, "trials": trials}

    def sharpe(rows):
        return metrics.sharpe_of_rows(rows, periods)

    comparison = {}
    draws = _bootstrap_draws(settings, len(runs["model"]["returns"]))
    for name in ("buy_and_hold", "sma_200"):
        interval = metrics.bootstrap_difference(
            sharpe, runs["model"]["returns"], runs[name]["returns"], margin=margin, **draws
        )
        comparison[name] = comparison_entry(
            metric="sharpe_ratio",
            model=figures["sharpe_ratio"],
            baseline=runs[name]["figures"]["sharpe_ratio"],
            interval=interval,
            margin=margin,
        )
    drawdown = figures.get("max_drawdown")
    passed = all(beats(entry) for entry in comparison.values()) and (
        drawdown is None or drawdown <= thresholds["max_drawdown"]
    )
    return {
        "figures": figures,
        "baselines": {name: runs[name]["figures"] for name in ("buy_and_hold", "sma_200")},
        "metrics": {
            "comparison": comparison,
            "execution": execution,
            "bootstrap": settings | {"method": "stationary", "interval": 0.95},
        },
        "thresholds": thresholds,
        "curves": curves_of(closes.index, {name: run["equity"] for name, run in runs.items()}),
        "passed": passed,
        "sample_size": len(closes) - 1,
        "decisions": result["decisions"],
    }


def classification_figures(truth, predicted) -> dict:
    """Return accuracy, balanced accuracy, Cohen's kappa and macro precision, recall and F1."""
    # Imported here: scikit-learn costs every manage.py command ~1 s of start-up otherwise.
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        cohen_kappa_score,
        f1_score,
        precision_score,
        recall_score,
    )

    truth, predicted = list(truth), list(predicted)
    if not truth:
        return {"accuracy": None, "balanced_accuracy": None, "cohen_kappa": None, "samples": 0}
    kappa = cohen_kappa_score(truth, predicted) if len(set(truth) | set(predicted)) > 1 else None
    with warnings.catch_warnings():
        # A predicted class the truth never shows only scores zero recall nowhere: expected here.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(truth, predicted))
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": balanced,
        "cohen_kappa": None if kappa is None or not np.isfinite(kappa) else float(kappa),
        "precision": float(precision_score(truth, predicted, average="macro", zero_division=0)),
        "recall": float(recall_score(truth, predicted, average="macro", zero_division=0)),
        "f1_score": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "samples": len(truth),
    }


CLASSIFIER_METRICS = {
    "balanced_accuracy": ("min_balanced_accuracy_edge", metrics.balanced_accuracy_rows),
    "cohen_kappa": ("min_kappa_edge", metrics.kappa_rows),
}


def classification_report(*, model: AIModel, result: dict, timeframe: str, configuration: dict) -> dict:
    """Score a classifier and its baselines; compare on balanced accuracy and kappa with intervals."""
    truth, predicted, baselines = result["truth"], result["predicted"], result["baselines"]
    classes = sorted(set(truth) | set(predicted) | {v for b in baselines.values() for v in b})
    code = {label: i for i, label in enumerate(classes)}

    def coded(labels) -> np.ndarray:
        return np.asarray([code[v] for v in labels], dtype=np.int64)

    thresholds = {**CLASSIFIER_THRESHOLDS, **(configuration.get("thresholds") or {})}
    settings = _bootstrap_settings(configuration)
    figures = classification_figures(truth, predicted)
    baseline_figures = {name: classification_figures(truth, labels) for name, labels in baselines.items()}
    model_stack = np.stack([coded(truth), coded(predicted)])
    comparisons = {metric: {} for metric in CLASSIFIER_METRICS}
    draws = _bootstrap_draws(settings, len(truth))
    for metric, (threshold, rows) in CLASSIFIER_METRICS.items():
        margin = float(thresholds[threshold])

        def statistic(stack, rows=rows):
            return rows(stack[0], stack[1], len(classes))

        for name, labels in baselines.items():
            interval = metrics.bootstrap_difference(
                statistic, model_stack, np.stack([coded(truth), coded(labels)]), margin=margin, **draws
            )
            comparisons[metric][name] = comparison_entry(
                metric=metric,
                model=figures[metric],
                baseline=baseline_figures[name][metric],
                interval=interval,
                margin=margin,
            )
    passed = all(beats(entry) for by_baseline in comparisons.values() for entry in by_baseline.values())
    return {
        "figures": figures | {"predicted_distribution": pd.Series(predicted).value_counts().to_dict()},
        "baselines": baseline_figures,
        "metrics": {
            "comparison": comparisons["balanced_accuracy"],
            "comparison_kappa": comparisons["cohen_kappa"],
            "bootstrap": settings | {"method": "stationary", "interval": 0.95},
        },
        "thresholds": thresholds,
        "curves": {},
        "passed": passed,
        "sample_size": len(truth),
        "decisions": predicted,
    }


def evaluation_report(*, model: AIModel, result: dict, timeframe: str) -> dict:
    """Return the report of an architecture's `evaluate` result: figures, baselines, verdict, curves."""
    configuration = model.configuration or {}
    report = classification_report if result["kind"] == "classification" else strategy_report
    return report(model=model, result=result, timeframe=timeframe, configuration=configuration)


def _column(name: str, value):
    if value is None or isinstance(value, bool) or not np.isfinite(value):
        return None
    if name in ("accuracy", "precision", "recall", "f1_score", "win_rate", "max_drawdown"):
        value = min(1.0, max(0.0, value))
    return Decimal(str(round(float(value), 4))).max(Decimal("-999999.9999")).min(Decimal("999999.9999"))


def evaluation_record(*, model: AIModel, result: dict, evaluated_by=None, timeframe: str) -> ModelEvaluation:
    """Judge a result dict of an architecture's `evaluate` and store it as a ModelEvaluation."""
    report = evaluation_report(model=model, result=result, timeframe=timeframe)
    figures = report["figures"]
    columns = {name: _column(name, figures.get(name)) for name in COLUMNS}
    columns["annualized_return"] = columns["annualized_return"] or _column("cagr", figures.get("cagr"))
    extra = {key: value for key, value in result.get("extra", {}).items()}
    return ModelEvaluation.objects.create(
        model=model,
        evaluation_type=EvaluationType.BACKTEST,
        period_start=result["period_start"],
        period_end=result["period_end"],
        timeframe=timeframe,
        sample_size=report["sample_size"],
        metrics=jsonable(figures | report["metrics"] | {"thresholds": report["thresholds"], **extra}),
        baseline_metrics=jsonable(report["baselines"]),
        curves=jsonable(report["curves"]),
        passed=report["passed"],
        evaluated_by=evaluated_by,
        trade_count=figures.get("trade_count"),
        notes=result.get("notes", ""),
        **columns,
    )


def model_walk_forward(
    *, model: AIModel, timeframe: str | None = None, parameters: dict | None = None
) -> dict:
    """Run `model`'s walk-forward and return its raw result (nothing stored)."""
    arch = architecture_get(model.architecture)
    if not hasattr(arch, "evaluate"):
        raise ValidationError({"model": f"architecture {model.architecture!r} has no backtest"})
    timeframe = timeframe or model.training_data_timeframe
    result = arch.evaluate(model=model, timeframe=timeframe, parameters=parameters or {})
    result.setdefault("parameters", parameters or {})
    return result


def model_evaluate(
    *, model: AIModel, evaluated_by=None, timeframe: str | None = None, parameters: dict | None = None
) -> ModelEvaluation:
    """Run the walk-forward backtest of `model` and store its ModelEvaluation; return it."""
    timeframe = timeframe or model.training_data_timeframe
    result = model_walk_forward(model=model, timeframe=timeframe, parameters=parameters)
    return evaluation_record(model=model, result=result, evaluated_by=evaluated_by, timeframe=timeframe)
