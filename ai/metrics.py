"""Performance figures of an equity curve or a list of trades, and the statistics that judge them.

Pure numpy (scipy for the normal distribution and the moments); 365 periods a year unless told.

Conventions: returns are simple per-period returns; volatility, Sharpe and Sortino use the sample
standard deviation (ddof=1) annualized with sqrt(365) and a zero risk-free rate; Sortino's
downside deviation is sqrt(mean(min(r, 0)^2)) over all periods; max drawdown is the largest
fall from a running peak, a fraction in [0, 1]. A figure that does not exist (no variation, no
losing trade) is None rather than infinity.

The bootstrap is hand-written (twenty lines of numpy) rather than taken from `arch`, which would
bring statsmodels along for one index generator; it is checked against its definition in the tests.
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


def performance(equity, trade_returns=None, periods_per_year: float = PERIODS_PER_YEAR) -> dict:
    """Return every figure of an equity curve (and its trades, when given) as a dict."""
    returns = returns_of(equity)
    figures = {
        "total_return": total_return(equity),
        "cagr": cagr(equity, periods_per_year),
        "volatility": annualized_volatility(returns, periods_per_year),
        "sharpe_ratio": sharpe_ratio(returns, periods_per_year),
        "sortino_ratio": sortino_ratio(returns, periods_per_year),
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


# Trades ------------------------------------------------------------------------------------------


def longest_losing_streak(trade_returns) -> int:
    """Return the most losing trades in a row."""
    longest = current = 0
    for value in trade_returns:
        current = current + 1 if value < 0 else 0
        longest = max(longest, current)
    return longest


def trade_figures(trade_returns, holding_periods) -> dict:
    """Return expectancy, average win and loss, best and worst trade, holding time and losing streak."""
    trade_returns = np.asarray(trade_returns, dtype=float)
    wins, losses = trade_returns[trade_returns > 0], trade_returns[trade_returns < 0]
    return {
        "expectancy": _finite(trade_returns.mean()) if len(trade_returns) else None,
        "avg_win": _finite(wins.mean()) if len(wins) else None,
        "avg_loss": _finite(losses.mean()) if len(losses) else None,
        "best_trade": _finite(trade_returns.max()) if len(trade_returns) else None,
        "worst_trade": _finite(trade_returns.min()) if len(trade_returns) else None,
        "avg_holding_periods": _finite(np.mean(holding_periods)) if len(holding_periods) else None,
        "longest_losing_streak": longest_losing_streak(trade_returns),
    }


# Probabilistic and deflated Sharpe ratios (Bailey and Lopez de Prado) ------------------------------

EULER_GAMMA = 0.5772156649015329


def _sharpe_moments(returns) -> tuple[float, float, float, int] | None:
    """Return the per-period Sharpe ratio, skewness, (non-excess) kurtosis and count of `returns`."""
    from scipy.stats import kurtosis, skew

    returns = np.asarray(returns, dtype=float)
    if len(returns) < 3 or returns.std(ddof=1) == 0:
        return None
    sharpe = returns.mean() / returns.std(ddof=1)
    return float(sharpe), float(skew(returns)), float(kurtosis(returns, fisher=False)), len(returns)


def sharpe_variance(returns) -> float | None:
    """Return the estimator variance of the per-period Sharpe ratio under non-normal returns."""
    moments = _sharpe_moments(returns)
    if moments is None:
        return None
    sharpe, skewness, kurt, n = moments
    return (1 - skewness * sharpe + (kurt - 1) / 4 * sharpe**2) / (n - 1)


def probabilistic_sharpe_ratio(returns, benchmark: float = 0.0) -> float | None:
    """Return P(true Sharpe > `benchmark`) given the sample's length, skewness and kurtosis.

    Both Sharpe ratios are per period (not annualized): PSR = Phi((SR - SR*) / sd(SR)).
    """
    from scipy.stats import norm

    variance = sharpe_variance(returns)
    if variance is None or variance <= 0:
        return None
    sharpe = _sharpe_moments(returns)[0]
    return _finite(norm.cdf((sharpe - benchmark) / math.sqrt(variance)))


def expected_max_sharpe(*, trials: int, variance: float) -> float:
    """Return the expected largest per-period Sharpe of `trials` skill-less trials of that variance."""
    from scipy.stats import norm

    if trials < 2:
        return 0.0
    return math.sqrt(variance) * (
        (1 - EULER_GAMMA) * norm.ppf(1 - 1 / trials) + EULER_GAMMA * norm.ppf(1 - 1 / (trials * math.e))
    )


def deflated_sharpe_ratio(returns, *, trial_sharpes=()) -> tuple[float | None, int]:
    """Return the deflated Sharpe ratio of `returns` and the number of trials it deflates for.

    `trial_sharpes` are the per-period Sharpe ratios of the other configurations tried; the
    benchmark is the largest Sharpe expected among that many skill-less trials, their variance
    taken from the trials (or, with fewer than two others, from this estimate's own variance).
    """
    trials = len(trial_sharpes) + 1
    own = _sharpe_moments(returns)
    if own is None:
        return None, trials
    sharpes = [*trial_sharpes, own[0]]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 2 else sharpe_variance(returns)
    return probabilistic_sharpe_ratio(returns, expected_max_sharpe(trials=trials, variance=variance)), trials


# The stationary bootstrap (Politis and Romano, 1994) ----------------------------------------------


def stationary_bootstrap_indices(n: int, *, replications: int, block: float, seed: int = 0) -> np.ndarray:
    """Return `replications` x `n` resampling positions of the stationary bootstrap.

    Each position continues the previous one (wrapping round the end) with probability
    1 - 1/block and starts a new block at a uniform position otherwise, so blocks have
    geometric lengths of mean `block` and the resampled series stays stationary.
    """
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(replications, n))
    fresh = rng.random((replications, n)) < 1 / max(block, 1.0)
    fresh[:, 0] = True
    # A block's positions run on from its start: start + (steps since the last fresh draw).
    steps = np.arange(n)
    last_fresh = np.maximum.accumulate(np.where(fresh, steps, 0), axis=1)
    origin = np.take_along_axis(starts, last_fresh, axis=1)
    return (origin + steps - last_fresh) % n


def sharpe_of_rows(returns: np.ndarray, periods_per_year: float = PERIODS_PER_YEAR) -> np.ndarray:
    """Return the annualized Sharpe ratio of each row of a 2-d array (NaN where a row is flat)."""
    spread = returns.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, returns.mean(axis=1) / spread * math.sqrt(periods_per_year), np.nan)


def bootstrap_difference(
    statistic,
    model,
    baseline,
    *,
    margin: float,
    replications: int,
    block: float,
    seed: int = 0,
    positions: np.ndarray | None = None,
) -> dict:
    """Return the difference statistic(model) - statistic(baseline) with its 95% interval and p-value.

    `model` and `baseline` are per-period arrays aligned in time (or stacks of them, time last)
    resampled together; `statistic(rows)` maps a (..., replications, n) array to one value per
    replication. The interval
    is the percentile interval of the stationary-bootstrap replicates; the p-value is the one-
    sided bootstrap p-value of "the difference is at most `margin`", from replicates centred on
    the estimate. `positions`: the stationary_bootstrap_indices of these settings, when a caller
    comparing against several baselines has drawn them once.
    """
    model, baseline = np.asarray(model), np.asarray(baseline)
    n = model.shape[-1]
    estimate = float(statistic(model[..., None, :])[0] - statistic(baseline[..., None, :])[0])
    if positions is None:
        positions = stationary_bootstrap_indices(n, replications=replications, block=block, seed=seed)
    replicates = statistic(model[..., positions]) - statistic(baseline[..., positions])
    replicates = replicates[np.isfinite(replicates)]
    if not math.isfinite(estimate) or not len(replicates):
        return {"difference": _finite(estimate), "ci_low": None, "ci_high": None, "p_value": None}
    low, high = np.percentile(replicates, [2.5, 97.5])
    exceed = np.sum(replicates - estimate >= estimate - margin)
    return {
        "difference": estimate,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float((1 + exceed) / (1 + len(replicates))),
    }


# Classification figures of many resamples at once -------------------------------------------------


def confusion_rows(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Return the confusion matrices (rows = truth) of each row pair of integer-coded label arrays."""
    truth, predicted = np.atleast_2d(truth), np.atleast_2d(predicted)
    replications = truth.shape[0]
    codes = np.arange(replications)[:, None] * classes * classes + truth * classes + predicted
    counts = np.bincount(codes.ravel(), minlength=replications * classes * classes)
    return counts.reshape(replications, classes, classes)


def balanced_accuracy_rows(truth, predicted, classes: int) -> np.ndarray:
    """Return the balanced accuracy (mean recall over the classes present) of each row pair."""
    matrices = confusion_rows(truth, predicted, classes)
    support = matrices.sum(axis=2)
    hits = np.diagonal(matrices, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
        return np.nanmean(recall, axis=1)


def kappa_rows(truth, predicted, classes: int) -> np.ndarray:
    """Return Cohen's kappa of each row pair (NaN where chance agreement is certain)."""
    matrices = confusion_rows(truth, predicted, classes).astype(float)
    total = matrices.sum(axis=(1, 2))
    observed = np.trace(matrices, axis1=1, axis2=2) / total
    chance = (matrices.sum(axis=2) * matrices.sum(axis=1)).sum(axis=1) / total**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)
