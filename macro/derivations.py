"""Market metrics derived from candles: pure pandas and TA-Lib, no database.

Every frame here is indexed by candle open time (UTC) and has one column per asset id.
`snapshot_frame` returns one row per BTC candle with the MetricsSnapshot fields that
build_snapshots derives; the definitions are in its docstring and in the README.
"""

from datetime import date, timedelta
from math import ceil

import numpy as np
import pandas as pd
import talib

from assets.indicators import indicator_frame, periods_per_year
from cryptopredict.choices import TIMEFRAME_DELTAS

# Bitcoin halvings (block 210,000 x n). The last date is an estimate: block 1,050,000 is
# expected around mid-April 2028 at ten minutes a block; it moves by days as hash rate changes.
HALVINGS = (
    date(2012, 11, 28),
    date(2016, 7, 9),
    date(2020, 5, 11),
    date(2024, 4, 20),
    date(2028, 4, 15),
)
WEEK, MONTH, CORRELATION_SPAN = timedelta(days=7), timedelta(days=30), timedelta(days=30)
# A correlation window may miss a fifth of its returns (a missing candle costs two returns).
CORRELATION_MIN_SHARE = 0.8
CORRELATION_MIN_RETURNS = 10
BREADTH_SMA, HIGH_LOW_PERIODS = 50, 52


def periods_in(span: timedelta, timeframe: str) -> int:
    """Return how many candles of `timeframe` the span covers, rounded (a month is 365/12 days)."""
    return round(periods_per_year(timeframe) * (span / timedelta(days=365)))


def back(series: pd.Series, periods: int, timeframe: str) -> pd.Series:
    """Return, at each time, the value `periods` candles earlier, looked up by time (NaN if missing)."""
    delta = TIMEFRAME_DELTAS.get(timeframe)
    if delta is None:
        return series.shift(periods)
    earlier = series.reindex(series.index - periods * delta)
    return pd.Series(earlier.to_numpy(), index=series.index)


def own_series(frame: pd.DataFrame, asset_id: int) -> pd.Series:
    """Return one asset's stored candles only (the grid's gaps dropped)."""
    return frame[asset_id].dropna() if asset_id in frame else pd.Series(dtype=float)


def halving_countdown(times: pd.DatetimeIndex) -> pd.Series:
    """Return the days from each time's UTC date to the next halving on or after it (NaN past the list)."""
    halvings = np.array(HALVINGS, dtype="datetime64[D]")
    days = times.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[D]")
    position = np.searchsorted(halvings, days, side="left")
    known = position < len(halvings)
    countdown = np.full(len(days), np.nan)
    countdown[known] = (halvings[position[known]] - days[known]).astype(int)
    return pd.Series(countdown, index=times)


def _correlation(btc: pd.Series, eth: pd.Series, timeframe: str) -> pd.Series:
    window = periods_in(CORRELATION_SPAN, timeframe)
    if window < CORRELATION_MIN_RETURNS or eth.empty:
        return pd.Series(np.nan, index=btc.index)
    log_prices = np.log(pd.concat([btc, eth], axis=1))
    grid = log_prices.index
    delta = TIMEFRAME_DELTAS.get(timeframe)
    if delta is not None:
        # Returns only between consecutive periods: a missing candle leaves a hole, not a longer return.
        grid = pd.date_range(grid.min(), grid.max(), freq=delta).union(grid)
    log_prices = log_prices.reindex(grid)
    btc_returns, eth_returns = (log_prices[c] - back(log_prices[c], 1, timeframe) for c in log_prices)
    minimum = ceil(CORRELATION_MIN_SHARE * window)
    return btc_returns.rolling(window, min_periods=minimum).corr(eth_returns).reindex(btc.index)


def _cross_section(close, high, low, crypto: list[int]) -> pd.DataFrame:
    """Return breadth, new highs/lows and momentum across the crypto assets, on close's index."""
    above, distance, new_high, new_low = {}, {}, {}, {}
    for asset_id in crypto:
        closes, highs, lows = (
            own_series(close, asset_id),
            own_series(high, asset_id),
            own_series(low, asset_id),
        )
        if closes.empty:
            continue
        values = closes.to_numpy()
        sma = pd.Series(talib.SMA(values, timeperiod=BREADTH_SMA), index=closes.index)
        above[asset_id] = (closes > sma).where(sma.notna())
        distance[asset_id] = 100 * (closes / sma - 1)
        top = talib.MAX(highs.to_numpy(), timeperiod=HIGH_LOW_PERIODS)
        bottom = talib.MIN(lows.to_numpy(), timeperiod=HIGH_LOW_PERIODS)
        new_high[asset_id] = pd.Series(np.where(np.isnan(top), np.nan, highs >= top), index=highs.index)
        new_low[asset_id] = pd.Series(np.where(np.isnan(bottom), np.nan, lows <= bottom), index=lows.index)

    def wide(columns: dict) -> pd.DataFrame:
        return pd.DataFrame(columns, index=close.index, dtype=float)

    above, distance, new_high, new_low = wide(above), wide(distance), wide(new_high), wide(new_low)
    ranked = above.notna().sum(axis=1)
    judged = new_high.notna().sum(axis=1)
    return pd.DataFrame(
        {
            "crypto_market_breadth": (100 * above.sum(axis=1) / ranked).where(ranked > 0),
            "momentum_index": distance.mean(axis=1),
            "new_highs_24h": new_high.sum(axis=1).where(judged > 0),
            "new_lows_24h": new_low.sum(axis=1).where(judged > 0),
        }
    )


def _dominance(cap: pd.DataFrame, close: pd.DataFrame, *, btc: int, eth: int | None) -> pd.DataFrame:
    total = cap.sum(axis=1, min_count=1)
    btc_cap = cap[btc] if btc in cap else pd.Series(np.nan, index=cap.index)
    eth_cap = cap[eth] if eth in cap else pd.Series(np.nan, index=cap.index)
    # An asset counts as missing once it has candles but its candle at t has no market cap.
    listed = close.reindex(columns=cap.columns).notna().cummax()
    missing = listed & cap.isna()
    ids = missing.columns.to_numpy()
    return pd.DataFrame(
        {
            "total_market_cap": total,
            "btc_dominance": 100 * btc_cap / total,
            "eth_dominance": 100 * eth_cap / total,
            "altcoin_dominance": (100 * (total - btc_cap - eth_cap.fillna(0)) / total).where(btc_cap.notna()),
            "missing_market_cap": pd.Series(
                [[int(a) for a in ids[row]] for row in missing.to_numpy(dtype=bool)],
                index=cap.index,
                dtype=object,
            ),
        }
    )


def snapshot_frame(
    *,
    close: pd.DataFrame,
    high: pd.DataFrame,
    low: pd.DataFrame,
    cap: pd.DataFrame,
    btc: int,
    eth: int | None,
    crypto: list[int],
    timeframe: str,
) -> pd.DataFrame:
    """Return the derived MetricsSnapshot fields, one row per BTC candle (float, NaN when unknown).

    `close`, `high`, `low` hold BTC, ETH and every tracked asset; `cap` holds the tracked assets
    (crypto and stablecoins), whose market caps count; `crypto` lists the tracked assets that
    are not stablecoins. Definitions:
    rsi_14, sma_200, ema_200: TA-Lib over BTC's closes (as in assets.indicators);
    weekly_return / monthly_return: BTC close / close 7 (30) days earlier - 1 (1w: 1 and 4 candles;
    1M: the previous month, no weekly); btc_eth_correlation_30d: Pearson correlation of BTC and
    ETH log returns over the last 30 days (30 returns on 1d, at least 80 % of them present);
    dominance: each cap / total_market_cap x 100, total = sum of the tracked caps present at t;
    altcoin = tracked assets other than BTC and ETH; halving_countdown_days: days to the next
    halving; crypto_market_breadth: % of crypto assets (no stablecoins) closing above their
    SMA-50; new_highs_24h / new_lows_24h: crypto assets whose high (low) is the highest (lowest)
    of their last 52 candles; momentum_index: mean % distance of their closes from SMA-50.
    """
    btc_close, btc_high, btc_low = own_series(close, btc), own_series(high, btc), own_series(low, btc)
    indicators = indicator_frame(btc_close, btc_high, btc_low, periods_per_year=periods_per_year(timeframe))
    frame = pd.DataFrame(
        {key: indicators[key] for key in ("rsi_14", "sma_200", "ema_200")}, index=btc_close.index
    )
    weekly, monthly = periods_in(WEEK, timeframe), periods_in(MONTH, timeframe)
    frame["weekly_return"] = btc_close / back(btc_close, weekly, timeframe) - 1 if weekly else np.nan
    frame["monthly_return"] = btc_close / back(btc_close, monthly, timeframe) - 1 if monthly else np.nan
    eth_close = own_series(close, eth) if eth is not None else pd.Series(dtype=float)
    frame["btc_eth_correlation_30d"] = _correlation(btc_close, eth_close, timeframe)
    frame["halving_countdown_days"] = halving_countdown(btc_close.index)
    frame = frame.join(
        _dominance(cap.reindex(btc_close.index), close.reindex(btc_close.index), btc=btc, eth=eth)
    )
    return frame.join(_cross_section(close, high, low, crypto).reindex(btc_close.index))
