"""Reads of trading signals and trades worth naming."""

from .models import AITradingSignal

PRICES = (("entry", "entry_price"), ("stop", "stop_loss"), ("target", "target_price"))


def signals_in_window(*, asset, start, end, timeframe: str | None = None, limit: int = 200) -> list[dict]:
    """Return the asset's signals generated in [start, end], oldest first, as chart markers.

    Each has time (Unix seconds), type, status, strength and the entry, stop and target prices.
    """
    signals = AITradingSignal.objects.filter(asset=asset, generated_at__gte=start, generated_at__lte=end)
    if timeframe is not None:
        signals = signals.filter(timeframe=timeframe)
    rows = signals.order_by("-generated_at").values(
        "id", "generated_at", "signal_type", "status", "strength", "entry_price", "stop_loss", "target_price"
    )[:limit]
    return [
        {
            "id": row["id"],
            "time": int(row["generated_at"].timestamp()),
            "type": row["signal_type"],
            "status": row["status"],
            "strength": float(row["strength"]),
            **{key: None if row[column] is None else float(row[column]) for key, column in PRICES},
        }
        for row in reversed(rows)
    ]
