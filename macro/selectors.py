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
