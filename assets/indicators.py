"""Technical indicators of candles, computed with TA-Lib and stored in PriceData's indicator columns.

Each candle holds the indicators known at its close, one column each (models.INDICATOR_FIELDS):
rsi_14, sma_20/50/200, ema_12/26/200, macd/macd_signal/macd_hist (12/26/9),
bb_upper/bb_middle/bb_lower (20, 2 deviations), atr_14 and volatility_30. A value is NULL (absent
from the candle's `technical_indicators`) while its warm-up is insufficient (e.g. sma_200 on the first 199
candles); the series is the asset's stored candles of one timeframe, in time order, and a
missing candle is simply not there (no interpolation). Values are rounded to 10 significant
digits (float64 carries ~16; 10 keeps prices below 1e-8 exact enough, and a value computed again
from the same candles compares equal, so an unchanged candle is not written).

atr_14 needs a real traded range: it is computed over each run of consecutive real OHLC candles
and is absent on price points (`PriceData.is_price_point`, e.g. CoinGecko daily prices, whose
high and low equal the close) and during the first 14 candles of a run after them.

volatility_30 is realized volatility: the sample standard deviation (ddof=1) of the last 30
log returns ln(close_t / close_t-1), annualized with sqrt(periods per year), where a year is
365 days (crypto trades every day): sqrt(365) on 1d, sqrt(365 * 24) on 1h, sqrt(12) on 1M.
It is a fraction: 0.65 means 65 % a year.

Keeping them true. Every candle write (import, API, admin, resample; see assets.services) notes
the changed time range in the series' IndicatorState, in the write's transaction, and then calls
indicators_refresh, which recomputes the candles of that range and the DEPENDENT_CANDLES after
it, and writes the candles whose values changed. The work follows the change, not the series:
appending 1,000 candles reads the WARMUP_CANDLES before them plus the 1,000.

The computation for a range starting at candle t sees the WARMUP_CANDLES candles before t, and
its values are exactly TA-Lib's run over that window. SMA, Bollinger bands and volatility only
look back a fixed window, so they equal a run over the whole history. EMA, MACD, RSI and ATR
are recursive and remember their seed; the error of a late seed shrinks by (1 - 2 / 201) per
candle for EMA-200, the slowest, so WARMUP_CANDLES = 15 x 200 leaves exp(-28) ~ 1e-12 of it
after the seed's own 200 candles: below the stored 10 digits. For the same reason a changed
candle moves the values of at most the DEPENDENT_CANDLES = WARMUP_CANDLES candles after it by
more than the stored precision. `check_recursive` measures both on stored series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import isfinite, sqrt
from typing import TYPE_CHECKING

import numpy as np
import talib
from django.db import connection
from django.db.models import Exists, F, Max, Min, OuterRef, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe

from .candle_writes import write_retrying
from .models import INDICATOR_FIELDS, Asset, IndicatorState, PriceData, indicators_of
from .signals import indicators_written

if TYPE_CHECKING:  # assets.services.* may import this module: no import cycle at run time
    from .services.results import Progress

LONGEST_LOOKBACK = 200
WARMUP_CANDLES = 15 * LONGEST_LOOKBACK
DEPENDENT_CANDLES = WARMUP_CANDLES
# EMA-12 is the first indicator to exist, on the 12th candle (index 11) of a series.
FIRST_DEFINED_INDEX = 11
SIGNIFICANT_DIGITS = 10
# Candles computed per pass: bounds memory however long the series.
CHUNK_CANDLES = 20_000
WRITE_BATCH = 1_000
VOLATILITY_WINDOW = 30
ATR_PERIOD = 14


def periods_per_year(timeframe: str) -> float:
    """Return how many candles of `timeframe` make a 365-day year (12 for the calendar month)."""
    delta = TIMEFRAME_DELTAS.get(timeframe)
    return 12.0 if delta is None else timedelta(days=365) / delta


def true_range_atr(high, low, close, *, real_ohlc=None) -> np.ndarray:
    """Return TA-Lib's ATR-14, computed separately over each run of real OHLC candles (NaN elsewhere).

    `real_ohlc` is a boolean array (None: every candle is real). A price point has no range, so
    its True Range would be a close-to-close change mislabelled as a range.
    """
    if real_ohlc is None:
        return talib.ATR(high, low, close, timeperiod=ATR_PERIOD)
    real = np.asarray(real_ohlc, dtype=bool)
    atr = np.full(close.shape, np.nan)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], real.astype(np.int8), [0]])))
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - first > ATR_PERIOD:
            atr[first:stop] = talib.ATR(high[first:stop], low[first:stop], close[first:stop], ATR_PERIOD)
    return atr


def indicator_frame(
    closes, highs, lows, *, periods_per_year: float = 365.0, real_ohlc=None
) -> dict[str, np.ndarray]:
    """Return every indicator of a candle series as arrays aligned with the input (NaN during warm-up).

    `real_ohlc` marks the candles with a real traded range (None: all of them); see true_range_atr.
    """
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
        "atr_14": true_range_atr(high, low, close, real_ohlc=real_ohlc),
        "volatility_30": volatility,
    }


INDICATOR_KEYS = tuple(indicator_frame([1.0], [1.0], [1.0]))


def _rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def frame_rows(frame: dict[str, np.ndarray], start: int = 0) -> list[dict[str, float]]:
    """Return the indicators of each candle from `start` on: rounded values, no key where NaN."""
    columns = {key: values[start:].tolist() for key, values in frame.items()}
    length = len(next(iter(columns.values()), []))
    return [
        {key: _rounded(values[i]) for key, values in columns.items() if isfinite(values[i])}
        for i in range(length)
    ]


# --- The series' watermark -------------------------------------------------------------------


def indicators_mark_stale(*, asset_id: int, timeframe: str, start: datetime, end: datetime) -> None:
    """Note that the candles of a series from `start` to `end` were written (or deleted).

    Call it in the transaction of the write, then indicators_refresh after it. A series without
    an IndicatorState row is stale as a whole already: nothing to note.
    """
    IndicatorState.objects.filter(asset_id=asset_id, timeframe=timeframe).update(
        stale_from=Least(Coalesce(F("stale_from"), Value(start)), Value(start)),
        stale_until=Greatest(Coalesce(F("stale_until"), Value(end)), Value(end)),
        version=F("version") + 1,
    )


def _state_get(candles, *, asset_id: int, timeframe: str, whole: bool) -> IndicatorState | None:
    """Return the series' state; a series without one (or all of it, when `whole`) is made stale."""
    state = IndicatorState.objects.filter(asset_id=asset_id, timeframe=timeframe).first()
    if state is not None and not whole:
        return state
    span = candles.aggregate(first=Min("candle_time"), last=Max("candle_time"))
    if span["first"] is None:
        return state
    if state is not None:
        indicators_mark_stale(asset_id=asset_id, timeframe=timeframe, start=span["first"], end=span["last"])
        state.refresh_from_db()
        return state
    state, created = IndicatorState.objects.get_or_create(
        asset_id=asset_id,
        timeframe=timeframe,
        defaults={"stale_from": span["first"], "stale_until": span["last"]},
    )
    if not created:  # another process made it meanwhile: make sure the whole series is covered
        return _state_get(candles, asset_id=asset_id, timeframe=timeframe, whole=True)
    return state


def indicators_refresh(
    *, asset_id: int, timeframe: str, whole: bool = False, progress: Progress | None = None
) -> int:
    """Recompute the indicators the series' watermark marks stale; return how many candles changed.

    The range from stale_from to stale_until and the DEPENDENT_CANDLES candles after it are
    computed (the whole series when it has no watermark yet, or when `whole`); only candles
    whose values differ are written. The watermark is cleared if no write came in meanwhile,
    else the new range is computed too.
    """
    candles = PriceData.objects.series(asset_id, timeframe)
    state = _state_get(candles, asset_id=asset_id, timeframe=timeframe, whole=whole)
    written = 0
    while state is not None and state.stale_from is not None:
        if progress is not None:
            progress.total = (progress.total or 0) + _pending_count(candles, state)
        written += _range_compute(
            candles,
            start=state.stale_from,
            until=state.stale_until,
            ppy=periods_per_year(timeframe),
            progress=progress,
        )
        cleared = IndicatorState.objects.filter(pk=state.pk, version=state.version).update(
            stale_from=None, stale_until=None, computed_at=timezone.now()
        )
        state = None if cleared else IndicatorState.objects.get(pk=state.pk)
    if written:
        indicators_written.send(sender=PriceData, asset_id=asset_id, timeframe=timeframe)
    return written


def _pending_count(candles, state: IndicatorState) -> int:
    """Return how many candles a refresh of `state` looks at (index range counts, no table scan)."""
    stale = candles.filter(candle_time__gte=state.stale_from, candle_time__lte=state.stale_until)
    after = candles.filter(candle_time__gt=state.stale_until).order_by("candle_time")
    return stale.count() + after[:DEPENDENT_CANDLES].count()


# --- Computing a range -----------------------------------------------------------------------


@dataclass
class _Candle:
    id: int
    candle_time: datetime
    high: float
    low: float
    close: float
    real: bool
    stored: dict


def _load(candles, *, start, warmup: bool, limit: int = CHUNK_CANDLES) -> list[_Candle]:
    """Return the WARMUP_CANDLES candles before `start` (warmup), or up to `limit` + 1 from it."""
    fields = ["id", "candle_time", "high_price", "low_price", "close_price", "is_price_point"]
    if warmup:
        rows = candles.filter(candle_time__lt=start).order_by("-candle_time").values_list(*fields)
        rows = [(*row, None) for row in list(rows[:WARMUP_CANDLES])[::-1]]
    else:
        rows = candles.filter(candle_time__gte=start).order_by("candle_time")
        rows = [
            (*row[:6], indicators_of(dict(zip(INDICATOR_FIELDS, row[6:], strict=True))))
            for row in rows.values_list(*fields, *INDICATOR_FIELDS)[: limit + 1]
        ]
    return [
        _Candle(pk, at, float(high), float(low), float(close), not point, stored or {})
        for pk, at, high, low, close, point, stored in rows
    ]


def _range_compute(candles, *, start, until, ppy: float, progress: Progress | None) -> int:
    """Compute the candles from `start` through the DEPENDENT_CANDLES after `until`; write the changed."""
    written, after_until = 0, 0
    # One changed candle (an edit) needs itself and its dependents (and one more candle, which
    # ends the loop): no need to read a whole chunk.
    limit = min(CHUNK_CANDLES, DEPENDENT_CANDLES + 2) if start == until else CHUNK_CANDLES
    while start is not None:
        warmup = _load(candles, start=start, warmup=True)
        chunk = _load(candles, start=start, warmup=False, limit=limit)
        start = chunk.pop().candle_time if len(chunk) > limit else None
        window = warmup + chunk
        frame = indicator_frame(
            [c.close for c in window],
            [c.high for c in window],
            [c.low for c in window],
            periods_per_year=ppy,
            real_ohlc=[c.real for c in window],
        )
        rows = frame_rows(frame, len(warmup))
        for index, candle in enumerate(chunk):
            if candle.candle_time > until:
                after_until += 1
                if after_until > DEPENDENT_CANDLES:
                    del chunk[index:], rows[index:]
                    start = None
                    break
        updates = [(c.id, values) for c, values in zip(chunk, rows, strict=True) if values != c.stored]
        updates.sort(key=lambda update: update[0])  # rows locked in id order by every writer
        for first in range(0, len(updates), WRITE_BATCH):
            # Candle writers lock by time, and so does this: a deadlock left between them is retried.
            write_retrying(_write, batch=updates[first : first + WRITE_BATCH])
        written += len(updates)
        if progress is not None:
            progress.update(len(chunk))
    return written


def _write(batch: list[tuple[int, dict]]) -> None:
    """Store the indicators of a batch of candles (a missing key stores NULL).

    One UPDATE ... FROM (VALUES ...) per batch on both databases: on PostgreSQL 2.3x faster than
    bulk_update's CASE WHEN (20,000 daily candles: 1.4 s against 3.3 s of writing, measured
    locally); on SQLite bulk_update spent minutes building the CASE of fifteen columns in Python.
    """
    table, columns = PriceData._meta.db_table, ", ".join(INDICATOR_FIELDS)
    params = [item for pk, values in batch for item in (pk, *(values.get(name) for name in INDICATOR_FIELDS))]
    sets = ", ".join(f"{name} = new.{name}" for name in INDICATOR_FIELDS)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # SQLite names a VALUES list's columns column1, column2...: the CTE names them.
            rows = ", ".join(["(" + ", ".join(["%s"] * (1 + len(INDICATOR_FIELDS))) + ")"] * len(batch))
            cursor.execute(
                f"WITH new(id, {columns}) AS (VALUES {rows}) "
                f"UPDATE {table} SET {sets} FROM new WHERE {table}.id = new.id",
                params,
            )
            return
        row = "(%s, " + ", ".join(["%s::double precision"] * len(INDICATOR_FIELDS)) + ")"
        rows = ", ".join([row] * len(batch))
        # Lock the rows first, in time order like the candle writers: an UPDATE ... FROM locks in
        # its join's order, and two refreshes (or a refresh and a candle write) of one series would
        # deadlock (the caller's transaction holds the locks).
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY candle_time, id FOR UPDATE",
            [[pk for pk, _ in batch]],
        )
        cursor.execute(
            f"UPDATE {table} AS candle SET {sets} "
            f"FROM (VALUES {rows}) AS new(id, {columns}) WHERE candle.id = new.id",
            params,
        )


# --- The operators' command ------------------------------------------------------------------


def _series(*, asset: Asset | None, timeframe: str | None, recompute: bool) -> list[tuple[int, str, bool]]:
    """Return the (asset id, timeframe, whole) series to refresh, without scanning the candle table.

    A series with a watermark is pending when it marks a range (or with `recompute`); one
    without is looked for with one index probe per asset and timeframe.
    """
    assets = Asset.objects.all() if asset is None else Asset.objects.filter(pk=asset.pk)
    timeframes = [timeframe] if timeframe is not None else list(Timeframe.values)
    states = IndicatorState.objects.filter(asset__in=assets, timeframe__in=timeframes)
    known = {(s.asset_id, s.timeframe): s.stale_from is not None for s in states}
    probes = {f"has_{tf}": Exists(PriceData.objects.series(OuterRef("pk"), tf)) for tf in timeframes}
    pending = []
    for row in assets.order_by("pk").values("pk", **probes):
        for series_timeframe in timeframes:
            stale = known.get((row["pk"], series_timeframe))
            if stale is None:
                if row[f"has_{series_timeframe}"]:
                    pending.append((row["pk"], series_timeframe, True))
            elif stale or recompute:
                pending.append((row["pk"], series_timeframe, recompute))
    return pending


def indicators_compute(
    *,
    asset: Asset | None = None,
    timeframe: str | None = None,
    recompute: bool = False,
    progress: Progress | None = None,
) -> int:
    """Refresh the indicators of the selected series and return how many candles were written.

    Incremental: only what the watermarks mark stale is computed (a series never computed is
    computed whole); `recompute` redoes every selected series.
    `progress` gets a growing total (the candles to look at) and an update after each chunk. A
    real run commits chunk by chunk: an interrupted run leaves its watermarks for the next run.
    """
    return sum(
        indicators_refresh(asset_id=asset_id, timeframe=series_timeframe, whole=whole, progress=progress)
        for asset_id, series_timeframe, whole in _series(
            asset=asset, timeframe=timeframe, recompute=recompute
        )
    )


# --- Recursive analysis (freqtrade's recursive-analysis) -------------------------------------


@dataclass
class RecursiveCheck:
    """How the latest values of one series change with the warm-up length.

    `changes[key][n]` is the relative change of the latest value computed from the last n + 1
    candles against the one computed from the whole stored history (None: present in one and
    missing in the other); `stored[key]` the same for the stored value. An indicator is unstable
    when its change at the service's warm-up exceeds the tolerance, stale when the stored value
    does.
    """

    asset_id: int
    timeframe: str
    candles: int
    latest: datetime | None
    warmup: int
    tolerance: float
    changes: dict[str, dict[int, float | None]]
    stored: dict[str, float | None]
    values: dict[str, float] = field(default_factory=dict)  # the whole series' latest (NaN: none)
    price_point: bool = False  # the latest candle is a price point (so it has no ATR)

    def _beyond(self, change) -> bool:
        return change is None or change > self.tolerance

    @property
    def unstable(self) -> list[str]:
        return [key for key, by_length in self.changes.items() if self._beyond(by_length[self.warmup])]

    @property
    def stale(self) -> list[str]:
        return [key for key, change in self.stored.items() if self._beyond(change)]


def _relative_change(value: float, reference: float) -> float | None:
    if not (isfinite(value) and isfinite(reference)):
        return 0.0 if isfinite(value) == isfinite(reference) else None
    return abs(value - reference) / max(abs(reference), 1e-300) if value != reference else 0.0


def indicators_recursive_check(
    *,
    asset_id: int,
    timeframe: str,
    lengths: tuple[int, ...] = (100, 500),
    warmup: int | None = None,
    tolerance: float = 1e-9,
) -> RecursiveCheck:
    """Compute the latest candle's indicators from warm-ups of each length and from the whole series.

    `warmup` is the length judged (default: the service's WARMUP_CANDLES); `lengths` are shown
    beside it. The stored values of the latest candle are compared with the whole-series ones.
    """
    warmup = WARMUP_CANDLES if warmup is None else warmup
    candles = PriceData.objects.series(asset_id, timeframe).order_by("candle_time")
    rows = list(
        candles.values_list("candle_time", "high_price", "low_price", "close_price", "is_price_point")
    )
    lengths = tuple(sorted({*lengths, warmup}))
    check = RecursiveCheck(
        asset_id, timeframe, len(rows), rows[-1][0] if rows else None, warmup, tolerance, {}, {}
    )
    if not rows:
        return check
    high, low, close = (np.array([float(row[i]) for row in rows]) for i in (1, 2, 3))
    real = np.array([not row[4] for row in rows])
    ppy = periods_per_year(timeframe)

    def latest(first: int) -> dict[str, float]:
        frame = indicator_frame(
            close[first:], high[first:], low[first:], periods_per_year=ppy, real_ohlc=real[first:]
        )
        return {key: float(values[-1]) for key, values in frame.items()}

    reference = latest(0)
    by_length = {n: latest(max(0, len(rows) - n - 1)) for n in lengths}
    stored = indicators_of(candles.reverse().values(*INDICATOR_FIELDS).first() or {})
    check.values, check.price_point = reference, bool(rows[-1][4])
    for key, value in reference.items():
        check.changes[key] = {n: _relative_change(by_length[n][key], value) for n in lengths}
        check.stored[key] = _relative_change(float(stored.get(key, np.nan)), value)
    return check
