"""Reads of models and their evaluations worth naming."""

from cryptopredict import formatting

from .models import ModelEvaluation

MAX_CURVE_POINTS = 5000

# The figures of an evaluation as the side-by-side table shows them: key, label, formatter.
FIGURES = (
    ("total_return", "Total return", lambda v: formatting.percent(v, fraction=True)),
    ("cagr", "CAGR", lambda v: formatting.percent(v, fraction=True)),
    ("annualized_return", "Annualized return", lambda v: formatting.percent(v, fraction=True)),
    ("sharpe_ratio", "Sharpe ratio", formatting.number),
    ("sortino_ratio", "Sortino ratio", formatting.number),
    ("calmar_ratio", "Calmar ratio", formatting.number),
    ("max_drawdown", "Max drawdown", lambda v: formatting.percent(v, fraction=True)),
    ("volatility", "Volatility (annual)", lambda v: formatting.percent(v, fraction=True)),
    ("win_rate", "Win rate", lambda v: formatting.percent(v, fraction=True)),
    ("profit_factor", "Profit factor", formatting.multiple),
    ("exposure", "Exposure", lambda v: formatting.percent(v, fraction=True)),
    ("trade_count", "Trades", formatting.number),
    ("accuracy", "Accuracy", lambda v: formatting.percent(v, fraction=True)),
    ("precision", "Precision", lambda v: formatting.percent(v, fraction=True)),
    ("recall", "Recall", lambda v: formatting.percent(v, fraction=True)),
    ("f1_score", "Macro F1", formatting.number),
)


def evaluation_curves(evaluation: ModelEvaluation) -> dict | None:
    """Return the evaluation's equity and drawdown curves and period returns, or None.

    The shape is {"time": [...], "series": {name: {"equity": [...], "drawdown": [...]}},
    "monthly_returns": {name: {"2020-01": r}}, "yearly_returns": {...}}; a long series is
    thinned to at most MAX_CURVE_POINTS points (every k-th, the last kept).
    """
    curves = getattr(evaluation, "curves", None) or (evaluation.metrics or {}).get("curves")
    if not curves or not curves.get("time"):
        return None
    time = curves["time"]
    step = max(1, -(-len(time) // MAX_CURVE_POINTS))
    keep = list(range(0, len(time), step))
    if keep[-1] != len(time) - 1:
        keep.append(len(time) - 1)

    def thin(values):
        return [values[i] for i in keep if i < len(values)] if step > 1 else values

    # PostgreSQL's jsonb keeps no key order: the model first, then the baselines by name.
    stored = curves.get("series") or {}
    series = {
        name: {kind: thin(values or []) for kind, values in stored[name].items()}
        for name in sorted(stored, key=lambda name: (name != "model", name))
    }
    return {
        "time": thin(time),
        "step": step,
        "series": series,
        "monthly_returns": curves.get("monthly_returns") or {},
        "yearly_returns": curves.get("yearly_returns") or {},
    }


def evaluation_baselines(evaluation: ModelEvaluation) -> dict[str, dict]:
    """Return {baseline name: figures}; an older single-baseline dict is named by its "name"."""
    baselines = evaluation.baseline_metrics or {}
    if baselines and all(isinstance(value, dict) for value in baselines.values()):
        return dict(sorted(baselines.items()))
    return {baselines.get("name", "baseline"): baselines} if baselines else {}


def evaluation_figures(evaluation: ModelEvaluation) -> dict:
    """Return the side-by-side table of the model's figures against each baseline.

    Each row has the figure's label, the model's value, each baseline's value and the
    difference model - baseline; where metrics["comparison"] tested that figure against a
    baseline, the difference carries its confidence interval and p-value.
    """
    metrics = evaluation.metrics or {}
    baselines = evaluation_baselines(evaluation)
    comparison = metrics.get("comparison") or {}
    rows = []
    for key, label, show in FIGURES:
        model_value = metrics.get(key)
        if model_value is None and all(figures.get(key) is None for figures in baselines.values()):
            continue
        cells = []
        for name, figures in baselines.items():
            value = figures.get(key)
            test = comparison.get(name) or {}
            difference = (
                test.get("difference")
                if test.get("metric") == key
                else (None if value is None or model_value is None else model_value - value)
            )
            interval = None
            if test.get("metric") == key and test.get("ci_low") is not None:
                interval = f"[{show(test['ci_low'])}, {show(test['ci_high'])}]"
                if test.get("p_value") is not None:
                    interval += f", p = {formatting.number(test['p_value'], decimals=3)}"
            cells.append(
                {
                    "value": show(value) if value is not None else formatting.EMPTY,
                    "difference": show(difference) if difference is not None else formatting.EMPTY,
                    "interval": interval,
                }
            )
        rows.append(
            {
                "label": label,
                "model": show(model_value) if model_value is not None else formatting.EMPTY,
                "baselines": cells,
            }
        )
    return {"baselines": [name.replace("_", " ") for name in baselines], "rows": rows}


# How the pass mark names what it compared: metric key -> label, formatter.
COMPARED = {
    "sharpe_ratio": ("Sharpe ratio", formatting.number),
    "balanced_accuracy": ("Balanced accuracy", formatting.number),
    "cohen_kappa": ("Cohen's kappa", formatting.number),
}


def evaluation_verdict(evaluation: ModelEvaluation) -> dict:
    """Return the pass mark as the admin shows it: one row per baseline and compared figure.

    Read from metrics["comparison"] (and "comparison_kappa" of classifiers): the model's and
    the baseline's figure, their difference with its 95% interval and p-value, the margin, and
    whether the model beats that baseline (the difference and the interval's lower bound above
    the margin, ai.evaluation.beats); `passed` is the evaluation's own verdict.
    """
    # Imported here: ai.evaluation pulls numpy and pandas, which the other reads do not need.
    from .evaluation import beats

    metrics = evaluation.metrics or {}
    rows = []
    for key in ("comparison", "comparison_kappa"):
        for name, entry in sorted((metrics.get(key) or {}).items()):
            label, show = COMPARED.get(entry.get("metric"), (entry.get("metric"), formatting.number))

            def shown(value, show=show):
                return formatting.EMPTY if value is None else show(value)

            low, high, p_value = entry.get("ci_low"), entry.get("ci_high"), entry.get("p_value")
            rows.append(
                {
                    "baseline": name.replace("_", " "),
                    "figure": label,
                    "model": shown(entry.get("model")),
                    "value": shown(entry.get("baseline")),
                    "difference": shown(entry.get("difference")),
                    "interval": formatting.EMPTY if low is None else f"[{show(low)}, {show(high)}]",
                    "p_value": formatting.EMPTY
                    if p_value is None
                    else formatting.number(p_value, decimals=3),
                    "margin": shown(entry.get("margin")),
                    "beats": beats(entry),
                }
            )
    return {"rows": rows, "passed": evaluation.passed}
