"""An evaluation's stored curves in the shape ai.evaluation writes (metrics["curves"] or .curves)."""

from datetime import date, timedelta

import numpy as np


def _drawdown(equity: np.ndarray) -> list[float]:
    return (equity / np.maximum.accumulate(equity) - 1).round(6).tolist()


def evaluation_curves(*, days: int = 120, start: date = date(2020, 1, 1)) -> dict:
    """Return curves of a model, buy-and-hold and the SMA-200 rule over `days` daily periods."""
    time = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    rng = np.random.default_rng(7)
    series, monthly, yearly = {}, {}, {}
    for name, drift in (("model", 0.002), ("buy_and_hold", 0.001), ("sma_200", 0.0005)):
        returns = rng.normal(drift, 0.02, days)
        returns[0] = 0.0
        equity = np.cumprod(1 + returns)
        series[name] = {"equity": equity.round(6).tolist(), "drawdown": _drawdown(equity)}
        months = {}
        for day, value in zip(time, equity, strict=True):
            months.setdefault(day[:7], []).append(value)
        previous, monthly[name] = 1.0, {}
        for month, values in months.items():
            monthly[name][month] = round(values[-1] / previous - 1, 6)
            previous = values[-1]
        yearly[name] = {time[0][:4]: round(float(equity[-1]) - 1, 6)}
    return {"time": time, "series": series, "monthly_returns": monthly, "yearly_returns": yearly}
