"""Reads of snapshots and regime analyses worth naming."""

from .models import AIRegimeAnalysis


def regime_model_latest():
    """Return the AI model of the latest regime analysis, or None when there is none."""
    latest = AIRegimeAnalysis.objects.select_related("ai_model").order_by("-analysis_time").first()
    return None if latest is None else latest.ai_model


def regimes_in_window(*, start, end, model=None, limit: int = 5000) -> list[dict]:
    """Return one model's regime calls in [start, end] (and the one in force at start), oldest first.

    Each is {"time": Unix seconds, "regime": name, "probabilities": {regime: p}}. The model is
    the latest one that wrote a regime unless given.
    """
    model = model or regime_model_latest()
    if model is None:
        return []
    analyses = AIRegimeAnalysis.objects.filter(ai_model=model)
    fields = ("analysis_time", "regime", "regime_probabilities")
    before = analyses.filter(analysis_time__lt=start).order_by("-analysis_time").values(*fields)[:1]
    inside = analyses.filter(analysis_time__gte=start, analysis_time__lte=end).order_by("analysis_time")
    rows = [*before, *inside.values(*fields)[:limit]]
    return [
        {
            "time": int(row["analysis_time"].timestamp()),
            "regime": row["regime"],
            "probabilities": row["regime_probabilities"] or {},
        }
        for row in rows
    ]


def regime_models() -> list:
    """Return the AI models that wrote regime analyses, by name."""
    from ai.models import AIModel

    return list(AIModel.objects.filter(regime_analyses__isnull=False).distinct().order_by("name", "pk"))


def regime_chart_window(*, model, end=None, limit: int, in_sample: bool = False) -> dict:
    """Return one model's latest `limit` regime calls up to `end` with BTC's price, oldest first.

    In-sample calls (about days the model was fitted on, `in_sample`) are left out
    unless `in_sample` is set: they would show the model's fit, not its forecasts. The price is
    the BTC price of the call's own snapshot, so each band sits on the price it was called at.
    `probabilities` holds one list per regime, aligned with `time` (0 where a call gave none).
    """
    analyses = AIRegimeAnalysis.objects.filter(ai_model=model)
    if not in_sample:
        analyses = analyses.filter(in_sample=False)
    if end is not None:
        analyses = analyses.filter(analysis_time__lte=end)
    rows = list(
        analyses.order_by("-analysis_time").values_list(
            "analysis_time", "regime", "regime_probabilities", "metrics_snapshot__btc_price_usd"
        )[:limit]
    )[::-1]
    names = sorted({name for row in rows for name in (row[2] or {})} | {row[1] for row in rows})
    return {
        "time": [int(time.timestamp()) for time, *_ in rows],
        "regime": [regime for _, regime, *_ in rows],
        "price": [float(price) for *_, price in rows],
        "probabilities": {name: [float((row[2] or {}).get(name, 0)) for row in rows] for name in names},
        "more": len(rows) == limit,
    }
