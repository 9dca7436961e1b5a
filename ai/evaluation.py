"""Walk-forward evaluation of models, stored as ModelEvaluation rows against a baseline.

The engine here is generic; each architecture's `evaluate(*, model, parameters)` runs its own
walk-forward (train on a window, predict the next one, slide) with these tools and returns a
result dict: `kind` ("classification" or "trading"), `figures`, `baseline`, `period_start`,
`period_end`, `sample_size`, `notes`. `passed` is decided here from the model's
configuration["thresholds"]: a classifier must beat the baseline's macro-F1 by `min_f1_edge`
and its accuracy by `min_accuracy_edge` (both default 0); a trading model must beat the
baseline's Sharpe ratio by `min_sharpe_edge` and keep its max drawdown within `max_drawdown`.

Backtests are long-only, decide at a close and earn the next period's return, and pay
`fee_rate` of the equity on every entry and every exit (an open position is closed, with its
fee, at the last close), so a buy-and-hold baseline pays two fees too.
"""

from decimal import Decimal

import numpy as np
from django.core.exceptions import ValidationError

from . import metrics
from .choices import EvaluationType
from .data import jsonable
from .models import AIModel, ModelEvaluation
from .registry import architecture_get

COLUMNS = (
    "accuracy", "precision", "recall", "f1_score", "total_return", "annualized_return", "max_drawdown",
    "cagr", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "profit_factor", "win_rate",
)  # fmt: skip


def walk_forward_folds(count: int, *, train_periods: int, test_periods: int) -> list[tuple[int, int, int]]:
    """Return (train start, test start, test end) positions: train on [start, test start), test the next."""
    folds = []
    test_start = train_periods
    while test_start < count:
        folds.append((test_start - train_periods, test_start, min(count, test_start + test_periods)))
        test_start += test_periods
    return folds


def classification_figures(truth, predicted) -> dict:
    """Return accuracy and macro precision, recall and F1 of predicted labels."""
    # Imported here: scikit-learn costs every manage.py command ~1 s of start-up otherwise.
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    truth, predicted = list(truth), list(predicted)
    if not truth:
        return {"accuracy": None, "precision": None, "recall": None, "f1_score": None, "samples": 0}
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, average="macro", zero_division=0)),
        "recall": float(recall_score(truth, predicted, average="macro", zero_division=0)),
        "f1_score": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "samples": len(truth),
    }


def backtest(close, position, *, fee_rate: float) -> dict:
    """Return the equity curve, trade returns and figures of a long-only position series.

    close[0..n] are closes; position[t] (0 or 1) is held from close t to close t+1, for t < n.
    """
    close = np.asarray(close, dtype=float)
    position = np.asarray(position, dtype=float)[: len(close) - 1]
    equity = [1.0]
    trades, held, entry_equity = [], 0.0, None
    for t, wanted in enumerate(position):
        value = equity[-1]
        if wanted != held:
            value *= 1 - fee_rate
            if wanted:
                entry_equity = equity[-1]
            else:
                trades.append(value / entry_equity - 1)
            held = wanted
        value *= 1 + held * (close[t + 1] / close[t] - 1)
        equity.append(value)
    if held:
        equity[-1] *= 1 - fee_rate
        trades.append(equity[-1] / entry_equity - 1)
    equity = np.asarray(equity)
    figures = metrics.performance(equity, trades)
    figures["exposure"] = float(position.mean()) if len(position) else 0.0
    return {"equity": equity, "trades": trades, "figures": figures}


def buy_and_hold(close, *, fee_rate: float) -> dict:
    """Return the backtest of holding from the first close to the last."""
    return backtest(close, np.ones(len(close) - 1), fee_rate=fee_rate)


def _passed(kind: str, figures: dict, baseline: dict, thresholds: dict) -> bool:
    if kind == "classification":
        f1, base_f1 = figures.get("f1_score"), baseline.get("f1_score")
        if f1 is None or base_f1 is None:
            return False
        accuracy, base_accuracy = figures.get("accuracy") or 0.0, baseline.get("accuracy") or 0.0
        edge = thresholds.get("min_accuracy_edge", 0.0)
        return f1 >= base_f1 + thresholds.get("min_f1_edge", 0.0) and accuracy >= base_accuracy + edge
    sharpe, base_sharpe = figures.get("sharpe_ratio"), baseline.get("sharpe_ratio")
    if sharpe is None or base_sharpe is None:
        return False
    drawdown = figures.get("max_drawdown")
    return sharpe > base_sharpe + thresholds.get("min_sharpe_edge", 0.0) and (
        drawdown is None or drawdown <= thresholds.get("max_drawdown", 1.0)
    )


def _column(name: str, value):
    if value is None or not np.isfinite(value):
        return None
    if name in ("accuracy", "precision", "recall", "f1_score", "win_rate", "max_drawdown"):
        value = min(1.0, max(0.0, value))
    return Decimal(str(round(float(value), 4))).max(Decimal("-999999.9999")).min(Decimal("999999.9999"))


def evaluation_record(*, model: AIModel, result: dict, evaluated_by=None, timeframe: str) -> ModelEvaluation:
    """Store a result dict of an architecture's `evaluate` as a ModelEvaluation and return it."""
    figures, baseline = result["figures"], result["baseline"]
    thresholds = (model.configuration or {}).get("thresholds", {})
    passed = _passed(result["kind"], figures, baseline, thresholds)
    columns = {name: _column(name, figures.get(name)) for name in COLUMNS}
    columns["annualized_return"] = columns["annualized_return"] or _column("cagr", figures.get("cagr"))
    return ModelEvaluation.objects.create(
        model=model,
        evaluation_type=EvaluationType.BACKTEST,
        period_start=result["period_start"],
        period_end=result["period_end"],
        timeframe=timeframe,
        sample_size=result["sample_size"],
        metrics=_json(figures | {"thresholds": thresholds, **result.get("extra", {})}),
        baseline_metrics=_json(baseline),
        passed=passed,
        evaluated_by=evaluated_by,
        trade_count=figures.get("trade_count"),
        notes=result.get("notes", ""),
        **columns,
    )


def _json(figures: dict) -> dict:
    return jsonable({k: v for k, v in figures.items() if not isinstance(v, np.ndarray)})


def model_evaluate(
    *, model: AIModel, evaluated_by=None, timeframe: str | None = None, parameters: dict | None = None
) -> ModelEvaluation:
    """Run the walk-forward backtest of `model` and store its ModelEvaluation; return it."""
    arch = architecture_get(model.architecture)
    if not hasattr(arch, "evaluate"):
        raise ValidationError({"model": f"architecture {model.architecture!r} has no backtest"})
    timeframe = timeframe or model.training_data_timeframe
    result = arch.evaluate(model=model, timeframe=timeframe, parameters=parameters or {})
    return evaluation_record(model=model, result=result, evaluated_by=evaluated_by, timeframe=timeframe)
