"""Watchlist scoring and portfolio analytics: pure functions over numbers and pandas series, no database.

Scores are 0..100. An asset's score blends trend (price vs SMA-50 and SMA-200), momentum (RSI-14
and the 30-period return), relative strength (its 30-period return against the market's) and
risk (annualized volatility, higher is worse). Portfolio figures follow ai.metrics (365 periods a
year, zero risk-free rate). Concentration is the Herfindahl-Hirschman index of the weights
(sum of squared weights); diversification = 100 x (1 - HHI) / (1 - 1/n), 0 for one asset.
"""

import math

import numpy as np
import pandas as pd

from ai import metrics
from assets.indicators import indicator_frame

SCORE_WEIGHTS = {"trend": 0.35, "momentum": 0.25, "relative_strength": 0.2, "risk": 0.2}
REBALANCE_BAND = 5.0  # percentage points of drift tolerated before a trade is suggested


def _clip(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return float(min(high, max(low, value)))


def asset_score(close: pd.Series, market_close: pd.Series | None = None) -> dict:
    """Return the component scores and the overall 0..100 score of one asset from its closes."""
    close = close.dropna().astype(float)
    values = close.to_numpy()
    indicators = indicator_frame(values, values, values)
    last = values[-1]

    def latest(name):
        value = indicators[name][-1] if len(values) else np.nan
        return value if np.isfinite(value) else None

    sma_50, sma_200, rsi = latest("sma_50"), latest("sma_200"), latest("rsi_14")
    volatility = latest("volatility_30")
    trend_parts = [50 + 50 * math.tanh(5 * (last / sma - 1)) for sma in (sma_50, sma_200) if sma]
    ret_30 = values[-1] / values[-31] - 1 if len(values) > 30 else None
    momentum_parts = [
        p for p in (rsi, None if ret_30 is None else 50 + 50 * math.tanh(4 * ret_30)) if p is not None
    ]
    relative = None
    if market_close is not None and ret_30 is not None:
        market = market_close.dropna().astype(float).to_numpy()
        if len(market) > 30:
            market_ret = market[-1] / market[-31] - 1
            relative = 50 + 50 * math.tanh(4 * ((1 + ret_30) / (1 + market_ret) - 1))
    # 20% annualized volatility scores 100, 150% scores 0.
    risk = None if volatility is None else _clip(100 * (1.5 - volatility) / 1.3)
    parts = {
        "trend": float(np.mean(trend_parts)) if trend_parts else None,
        "momentum": float(np.mean(momentum_parts)) if momentum_parts else None,
        "relative_strength": relative,
        "risk": risk,
    }
    known = {k: v for k, v in parts.items() if v is not None}
    total_weight = sum(SCORE_WEIGHTS[k] for k in known)
    score = sum(SCORE_WEIGHTS[k] * v for k, v in known.items()) / total_weight if total_weight else 50.0
    return {
        **{k: None if v is None else round(v, 2) for k, v in parts.items()},
        "score": round(_clip(score), 2),
        "volatility": volatility,
        "return_30": ret_30,
    }


def hhi(weights) -> float:
    """Return the Herfindahl-Hirschman index of weights given as fractions (normalized to sum 1)."""
    weights = np.asarray([w for w in weights if w > 0], dtype=float)
    if not len(weights):
        return 0.0
    weights = weights / weights.sum()
    return float(np.sum(weights**2))


def diversification_score(weights) -> float:
    """Return 100 x (1 - HHI) / (1 - 1/n): 100 for equal weights, 0 for a single holding."""
    count = sum(1 for w in weights if w > 0)
    if count < 2:
        return 0.0
    return _clip(100 * (1 - hhi(weights)) / (1 - 1 / count))


def watchlist_scores(closes: dict[int, pd.Series], market_close: pd.Series | None, candidates=None) -> dict:
    """Return overall, diversification and risk scores, per-asset scores and recommendations.

    `closes` maps the watchlist's asset ids to their closes; `candidates` maps other assets' ids to
    theirs, to suggest additions. Diversification here uses return correlation: 100 x (1 - mean
    pairwise correlation of 90-period daily returns), clipped to 0..100 (one asset: 0).
    """
    scored = {
        asset: asset_score(series, market_close) for asset, series in closes.items() if len(series.dropna())
    }
    if not scored:
        return {"overall": None, "diversification": None, "risk": None, "assets": {}, "recommendations": []}
    returns = pd.DataFrame({a: closes[a].pct_change(fill_method=None) for a in scored}).tail(90)
    if len(scored) > 1:
        corr = returns.corr().to_numpy()
        pairs = corr[np.triu_indices_from(corr, k=1)]
        pairs = pairs[np.isfinite(pairs)]
        diversification = _clip(100 * (1 - pairs.mean())) if len(pairs) else 0.0
    else:
        diversification = 0.0
    volatilities = [s["volatility"] for s in scored.values() if s["volatility"] is not None]
    risk = _clip(100 * np.mean(volatilities) / 1.5) if volatilities else None
    recommendations = []
    for asset, s in sorted(scored.items(), key=lambda item: -item[1]["score"]):
        action = "remove" if s["score"] < 35 else "keep"
        reason = (
            f"score {s['score']:.0f}: trend {s['trend']}, momentum {s['momentum']}, "
            f"relative strength {s['relative_strength']}, risk {s['risk']}"
        )
        recommendations.append({"asset": asset, "action": action, "score": s["score"], "reason": reason})
    for asset, series in (candidates or {}).items():
        if asset in scored or not len(series.dropna()):
            continue
        s = asset_score(series, market_close)
        if s["score"] >= 65:
            recommendations.append(
                {
                    "asset": asset,
                    "action": "add",
                    "score": s["score"],
                    "reason": f"scores {s['score']:.0f} outside the list",
                }
            )
    return {
        "overall": round(float(np.mean([s["score"] for s in scored.values()])), 2),
        "diversification": round(diversification, 2),
        "risk": None if risk is None else round(risk, 2),
        "assets": scored,
        "recommendations": recommendations,
    }


def time_weighted_return(values, flows) -> tuple[float | None, np.ndarray]:
    """Return the time-weighted return and the per-period returns of a valued series with flows.

    values[t] is the value at the end of period t, after the external flow flows[t] (money put in,
    positive; taken out, negative) that happened during it: r_t = (V_t - F_t) / V_(t-1) - 1.
    Periods that start from nothing are skipped.
    """
    values, flows = np.asarray(values, dtype=float), np.asarray(flows, dtype=float)
    period_returns = []
    for t in range(1, len(values)):
        if values[t - 1] > 0:
            period_returns.append((values[t] - flows[t]) / values[t - 1] - 1)
    period_returns = np.asarray(period_returns, dtype=float)
    if not len(period_returns):
        return None, period_returns
    return float(np.prod(1 + period_returns) - 1), period_returns


def rebalancing(weights: dict, targets: dict, total_value: float, band: float = REBALANCE_BAND) -> dict:
    """Return, per asset with a target, its drift and the trade that brings it back (buy/sell/hold).

    `weights` and `targets` are percentages (0..100); a drift within `band` points is held.
    """
    plan = {}
    for asset, target in targets.items():
        if target is None:
            continue
        current = weights.get(asset, 0.0)
        drift = current - target
        action = "hold" if abs(drift) <= band else ("sell" if drift > 0 else "buy")
        plan[asset] = {
            "current_weight": round(current, 4),
            "target_weight": round(float(target), 4),
            "drift": round(drift, 4),
            "action": action,
            "amount": round(abs(drift) / 100 * total_value, 2) if action != "hold" else 0.0,
        }
    return plan


def portfolio_analytics(
    *, holdings: list[dict], prices: pd.DataFrame, trades: list[dict] | None = None, cash: float = 0.0
) -> dict:
    """Return value, cost, PnL, return, risk and rebalancing figures of a portfolio.

    `holdings`: dicts with asset, quantity, cost_basis, realized_pnl and target (percent or None).
    `prices`: closes, one column per asset id, in time order. `trades`: executed trades (asset,
    time, side "buy"/"sell", quantity, price); quantities before them are rebuilt backwards from
    today's, and what the trades do not explain is taken as held from the first price on.
    Weights, concentration and TWR concern the invested holdings; `cash` adds to the value only.
    """
    prices = prices.ffill()
    latest = prices.iloc[-1] if len(prices) else pd.Series(dtype=float)
    values = {h["asset"]: float(h["quantity"]) * float(latest.get(h["asset"], np.nan)) for h in holdings}
    invested = sum(v for v in values.values() if np.isfinite(v))
    cost = sum(float(h["cost_basis"]) for h in holdings)
    weights = {a: 100 * v / invested for a, v in values.items() if invested > 0 and np.isfinite(v)}
    quantities = pd.DataFrame(0.0, index=prices.index, columns=prices.columns)
    flows = pd.Series(0.0, index=prices.index)
    for h in holdings:
        quantities[h["asset"]] = float(h["quantity"])
    for trade in sorted(trades or [], key=lambda t: t["time"], reverse=True):
        signed = float(trade["quantity"]) * (1 if trade["side"] == "buy" else -1)
        before = prices.index < trade["time"]
        if trade["asset"] in quantities:
            quantities.loc[before, trade["asset"]] -= signed
        at = prices.index[prices.index >= trade["time"]]
        if len(at):
            flows[at[0]] += signed * float(trade["price"])
    series = (quantities.clip(lower=0) * prices.fillna(0)).sum(axis=1)
    twr, period_returns = time_weighted_return(series.to_numpy(), flows.to_numpy())
    equity = (
        np.cumprod(np.concatenate([[1.0], 1 + period_returns])) if len(period_returns) else np.array([1.0])
    )
    volatility = metrics.annualized_volatility(period_returns)
    drawdown = metrics.max_drawdown(equity)
    concentration = hhi([w / 100 for w in weights.values()])
    risk = None
    if volatility is not None:
        # Volatility dominates (150% a year scores 100), drawdown and concentration add to it.
        risk = _clip(100 * (0.5 * min(volatility / 1.5, 1) + 0.3 * (drawdown or 0) + 0.2 * concentration))
    return {
        "value": invested + cash,
        "invested_value": invested,
        "cost_basis": cost,
        "unrealized_pnl": invested - cost,
        "unrealized_pnl_pct": (invested - cost) / cost * 100 if cost > 0 else None,
        "realized_pnl": sum(float(h["realized_pnl"]) for h in holdings),
        "time_weighted_return": twr,
        "expected_return": float(np.mean(period_returns) * metrics.PERIODS_PER_YEAR)
        if len(period_returns)
        else None,
        "volatility": volatility,
        "sharpe_ratio": metrics.sharpe_ratio(period_returns),
        "sortino_ratio": metrics.sortino_ratio(period_returns),
        "max_drawdown": drawdown,
        "hhi": concentration,
        "diversification_score": diversification_score([w / 100 for w in weights.values()]),
        "risk_score": risk,
        "weights": weights,
        "rebalancing": rebalancing(weights, {h["asset"]: h.get("target") for h in holdings}, invested),
    }
