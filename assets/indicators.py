"""Technical indicators of candles, computed with TA-Lib and stored in `PriceData.technical_indicators`.

Each candle's JSON holds the indicators known at its close: rsi_14, sma_20/50/200, ema_12/26/200,
macd/macd_signal/macd_hist (12/26/9), bb_upper/bb_middle/bb_lower (20, 2 deviations), atr_14 and
volatility_30. A key is absent while its warm-up is insufficient (e.g. sma_200 on the first 199
candles); the series is the asset's stored candles of one timeframe, in time order, and a
missing candle is simply not there (no interpolation). Values are rounded to 10 significant
digits (float64 carries ~16; 10 keeps prices below 1e-8 exact enough and the JSON short).

volatility_30 is realized volatility: the sample standard deviation (ddof=1) of the last 30
log returns ln(close_t / close_t-1), annualized with sqrt(periods per year), where a year is
365 days (crypto trades every day): sqrt(365) on 1d, sqrt(365 * 24) on 1h, sqrt(12) on 1M.
It is a fraction: 0.65 means 65 % a year.

Incremental runs: only candles whose JSON is empty (NULL or {}) are computed, except the first
FIRST_DEFINED_INDEX candles of a series, where no indicator can exist. The computation for a run
starting at the first empty candle sees the WARMUP_CANDLES candles before it plus the new
ones, and its values are exactly TA-Lib's run over that window. SMA, Bollinger bands and
volatility only look back a fixed window, so they equal a run over the whole history. EMA,
MACD, RSI and ATR are recursive and remember their seed; the error of a late seed shrinks by
(1 - 2 / 201) per candle for EMA-200, the slowest, so WARMUP_CANDLES = 15 x 200 leaves
exp(-28) ~ 1e-12 of it after the seed's own 200 candles: below the stored 10 digits.
Loading 3,000 more rows costs a few milliseconds per series.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from math import isfinite, sqrt
from typing import TYPE_CHECKING

import numpy as np
import talib
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from cryptopredict.choices import TIMEFRAME_DELTAS

from .models import Asset, PriceData

if TYPE_CHECKING:  # assets.services.* may import this module: no import cycle at run time
    from .services.results import Progress

LONGEST_LOOKBACK = 200
WARMUP_CANDLES = 15 * LONGEST_LOOKBACK
# EMA-12 is the first indicator to exist, on the 12th candle (index 11) of a series.
FIRST_DEFINED_INDEX = 11
SIGNIFICANT_DIGITS = 10
# Candles computed per pass: bounds memory however long the series.
CHUNK_CANDLES = 20_000
WRITE_BATCH = 1_000
VOLATILITY_WINDOW = 30

EMPTY = Q(technical_indicators__isnull=True) | Q(technical_indicators={})


def periods_per_year(timeframe: str) -> float:
    """Return how many candles of `timeframe` make a 365-day year (12 for the calendar month)."""
    delta = TIMEFRAME_DELTAS.get(timeframe)
    return 12.0 if delta is None else timedelta(days=365) / delta


def indicator_frame(closes, highs, lows, *, periods_per_year: float = 365.0) -> dict[str, np.ndarray]:
    """Return every indicator of a candle series as arrays aligned with the input (NaN during warm-up)."""
    close, high, low = (np.ascontiguousarray(values, dtype=np.float64) for values in (closes, highs, lows))
    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    bb_upper, bb_middle, bb_lower = talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    volatility = np.full(close.shape, np.nan)
    if len(close) > VOLATILITY_WINDOW:
        log_returns = np.diff(np.log(close))
        windows = np.lib.stride_tricks.sliding_window_view(log_returns, VOLATILITY_WINDOW)
        volatility[VOLATILITY_WINDOW:] = windows.std(axis=1, ddof=1) * sqrt(periods_per_year)
    return {
        "rsi_14": talib.RSI(close, timeperiod=14),
        "sma_20": talib.SMA(close, timeperiod=20),
        "sma_50": talib.SMA(close, timeperiod=50),
        "sma_200": talib.SMA(close, timeperiod=200),
        "ema_12": talib.EMA(close, timeperiod=12),
        "ema_26": talib.EMA(close, timeperiod=26),
        "ema_200": talib.EMA(close, timeperiod=200),
        "macd": macd,
        "macd_signal": macd_signal,
        "macd_hist": macd_hist,
        "bb_upper": bb_upper,
        "bb_middle": bb_middle,
        "bb_lower": bb_lower,
        "atr_14": talib.ATR(high, low, close, timeperiod=14),
        "volatility_30": volatility,
    }


def _rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def frame_rows(frame: dict[str, np.ndarray], start: int = 0) -> list[dict[str, float]]:
    """Return the JSON dict of each candle from `start` on: rounded values, no key where NaN."""
    columns = {key: values[start:].tolist() for key, values in frame.items()}
    length = len(next(iter(columns.values()), []))
    return [
        {key: _rounded(values[i]) for key, values in columns.items() if isfinite(values[i])}
        for i in range(length)
    ]


@dataclass
class _Candle:
    id: int
    candle_time: object
    high: float
    low: float
    close: float
    empty: bool


def _load(candles, *, start, warmup: bool) -> list[_Candle]:
    """Return the WARMUP_CANDLES candles before `start` (warmup) or up to CHUNK_CANDLES from it."""
    flagged = candles.annotate(empty=ExpressionWrapper(EMPTY, output_field=BooleanField()))
    fields = ("id", "candle_time", "high_price", "low_price", "close_price", "empty")
    if warmup:
        rows = flagged.filter(candle_time__lt=start).order_by("-candle_time").values_list(*fields)
        rows = list(rows[:WARMUP_CANDLES])[::-1]
    else:
        rows = flagged.filter(candle_time__gte=start).order_by("candle_time").values_list(*fields)
        rows = rows[:CHUNK_CANDLES]
    return [
        _Candle(pk, at, float(high), float(low), float(close), bool(empty))
        for pk, at, high, low, close, empty in rows
    ]


def _write(batch: list[tuple[int, dict]]) -> None:
    """Store the indicators of a batch of candles.

    On PostgreSQL one UPDATE ... FROM (VALUES ...) per batch: 2.3x faster than bulk_update's
    CASE WHEN (20,000 daily candles: 1.4 s against 3.3 s of writing, measured locally).
    """
    if connection.vendor != "postgresql":
        PriceData.objects.bulk_update(
            [PriceData(id=pk, technical_indicators=values) for pk, values in batch], ["technical_indicators"]
        )
        return
    rows = ", ".join(["(%s, %s::jsonb)"] * len(batch))
    params = [item for pk, values in batch for item in (pk, json.dumps(values))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PriceData._meta.db_table} AS candle SET technical_indicators = new.indicators "
            f"FROM (VALUES {rows}) AS new(id, indicators) WHERE candle.id = new.id",
            params,
        )


def _first_pending(candles, *, after=None):
    """Return the candle_time of the first candle to compute, leaving out the first candles of the series."""
    leaders = candles.order_by("candle_time").values_list("candle_time", flat=True)
    earliest = leaders[FIRST_DEFINED_INDEX : FIRST_DEFINED_INDEX + 1].first()
    if earliest is None:
        return None
    pending = candles.filter(EMPTY, candle_time__gte=earliest)
    if after is not None:
        pending = pending.filter(candle_time__gt=after)
    return pending.order_by("candle_time").values_list("candle_time", flat=True).first()


def _series_compute(asset_id: int, timeframe: str, *, recompute: bool, progress: Progress | None) -> int:
    candles = PriceData.objects.filter(asset_id=asset_id, timeframe=timeframe)
    ppy = periods_per_year(timeframe)
    if recompute:
        start = candles.order_by("candle_time").values_list("candle_time", flat=True).first()
    else:
        start = _first_pending(candles)
    written = 0
    while start is not None:
        warmup = _load(candles, start=start, warmup=True)
        chunk = _load(candles, start=start, warmup=False)
        window = warmup + chunk
        frame = indicator_frame(
            [c.close for c in window], [c.high for c in window], [c.low for c in window], periods_per_year=ppy
        )
        updates = [
            (candle.id, values)
            for candle, values in zip(chunk, frame_rows(frame, len(warmup)), strict=True)
            if (recompute or candle.empty) and values
        ]
        for first in range(0, len(updates), WRITE_BATCH):
            batch = updates[first : first + WRITE_BATCH]
            _write(batch)
            if progress is not None:
                progress.update(len(batch))
        written += len(updates)
        if len(chunk) < CHUNK_CANDLES:
            break
        last = chunk[-1].candle_time
        if recompute:
            start = candles.filter(candle_time__gt=last).order_by("candle_time")
            start = start.values_list("candle_time", flat=True).first()
        else:
            start = _first_pending(candles, after=last)
    return written


def _selected(*, asset: Asset | None, timeframe: str | None):
    candles = PriceData.objects.all()
    if asset is not None:
        candles = candles.filter(asset=asset)
    if timeframe is not None:
        candles = candles.filter(timeframe=timeframe)
    return candles


def indicators_compute(
    *,
    asset: Asset | None = None,
    timeframe: str | None = None,
    recompute: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Fill the technical indicators of the selected candles and return how many candles were written.

    Only candles with empty indicators are computed unless `recompute` is set; `dry_run` rolls
    the writes back. `progress` gets a total (the candles to look at, an upper bound) and an
    update after each written batch. A real run commits batch by batch: an interrupted run
    keeps what it wrote and the next run carries on from there.
    """
    candles = _selected(asset=asset, timeframe=timeframe)
    if progress is not None:
        progress.total = candles.count() if recompute else candles.filter(EMPTY).count()
    series = candles.order_by("asset_id", "timeframe").values_list("asset_id", "timeframe").distinct()
    with transaction.atomic() if dry_run else nullcontext():
        written = sum(
            _series_compute(asset_id, series_timeframe, recompute=recompute, progress=progress)
            for asset_id, series_timeframe in list(series)
        )
        if dry_run:
            transaction.set_rollback(True)
    return written
