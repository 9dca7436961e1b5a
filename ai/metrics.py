"""Performance figures of an equity curve or a list of trades (pure numpy; 365 periods a year).

Conventions: returns are simple per-period returns; volatility, Sharpe and Sortino use the sample
standard deviation (ddof=1) annualized with sqrt(365) and a zero risk-free rate; Sortino's
downside deviation is sqrt(mean(min(r, 0)^2)) over all periods; max drawdown is the largest
fall from a running peak, a fraction in [0, 1]. A figure that does not exist (no variation, no
losing trade) is None rather than infinity.
"""

import math

import numpy as np

PERIODS_PER_YEAR = 365


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def returns_of(equity) -> np.ndarray:
    """Return the per-period simple returns of an equity curve."""
    equity = np.asarray(equity, dtype=float)
    return equity[1:] / equity[:-1] - 1


def total_return(equity) -> float | None:
    """Return the equity's last value over its first, minus 1."""
    equity = np.asarray(equity, dtype=float)
    return _finite(equity[-1] / equity[0] - 1) if len(equity) > 1 else None


def cagr(equity, periods_per_year: float = PERIODS_PER_YEAR) -> float | None:
    """Return the compound annual growth rate of an equity curve sampled every period."""
    equity = np.asarray(equity, dtype=float)
    if len(equity) < 2 or equity[0] <= 0 or equity[-1] <= 0:
        return None
    return _finite((equity[-1] / equity[0]) ** (periods_per_year / (len(equity) - 1)) - 1)


def annualized_volatility(returns, periods_per_year: float = PERIODS_PER_YEAR) -> float | None:
    """Return the sample standard deviation of `returns` times sqrt(periods a year)."""
    returns = np.asarray(returns, dtype=float)
    return _finite(returns.std(ddof=1) * math.sqrt(periods_per_year)) if len(returns) > 1 else None


def sharpe_ratio(returns, periods_per_year: float = PERIODS_PER_YEAR) -> float | None:
    """Return the annualized Sharpe ratio (zero risk-free rate); None without variation."""
    returns = np.asarray(returns, dtype=float)
    if len(returns) < 2:
        return None
    spread = returns.std(ddof=1)
    return _finite(returns.mean() / spread * math.sqrt(periods_per_year)) if spread > 0 else None


def sortino_ratio(returns, periods_per_year: float = PERIODS_PER_YEAR) -> float | None:
    """Return the annualized Sortino ratio (zero target); None when no period lost."""
    returns = np.asarray(returns, dtype=float)
    if len(returns) < 2:
        return None
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    return _finite(returns.mean() / downside * math.sqrt(periods_per_year)) if downside > 0 else None


def max_drawdown(equity) -> float | None:
    """Return the largest fall from a running peak of the equity, as a fraction in [0, 1]."""
    equity = np.asarray(equity, dtype=float)
    if len(equity) == 0:
        return None
    peaks = np.maximum.accumulate(equity)
    return _finite(float(np.max(1 - equity / peaks)))


def win_rate(trade_returns) -> float | None:
    """Return the share of trades that made money."""
    trade_returns = np.asarray(trade_returns, dtype=float)
    return _finite(np.mean(trade_returns > 0)) if len(trade_returns) else None


def profit_factor(trade_returns) -> float | None:
    """Return gross gains over gross losses of the trades; None when no trade lost."""
    trade_returns = np.asarray(trade_returns, dtype=float)
    losses = -trade_returns[trade_returns < 0].sum()
    return _finite(trade_returns[trade_returns > 0].sum() / losses) if losses > 0 else None


def performance(equity, trade_returns=None) -> dict:
    """Return every figure of an equity curve (and its trades, when given) as a dict."""
    returns = returns_of(equity)
    figures = {
        "total_return": total_return(equity),
        "cagr": cagr(equity),
        "volatility": annualized_volatility(returns),
        "sharpe_ratio": sharpe_ratio(returns),
        "sortino_ratio": sortino_ratio(returns),
        "max_drawdown": max_drawdown(equity),
        "periods": len(returns),
    }
    drawdown, growth = figures["max_drawdown"], figures["cagr"]
    figures["calmar_ratio"] = growth / drawdown if growth is not None and drawdown else None
    if trade_returns is not None:
        figures |= {
            "trade_count": len(trade_returns),
            "win_rate": win_rate(trade_returns),
            "profit_factor": profit_factor(trade_returns),
        }
    return figures
