"""Build candles of a longer timeframe from stored shorter ones."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.timeframes import floor_time, next_time, timeframe_check

from ..candle_columns import OHLCV_COLUMNS
from ..models import Asset, PriceData
from .results import Progress, UpsertResult
from .writing import candles_upsert


def _resample_check(source_tf: str, target_tf: str) -> None:
    timeframe_check(source_tf)
    timeframe_check(target_tf)
    if target_tf == Timeframe.MO1:
        fits = source_tf not in (Timeframe.W1, Timeframe.MO1)
    else:
        source, target = TIMEFRAME_DELTAS.get(source_tf), TIMEFRAME_DELTAS[target_tf]
        fits = source is not None and target > source and target % source == timedelta(0)
    if not fits:
        raise ValueError(f"{target_tf} candles cannot be built from {source_tf} candles")


def candles_resample(
    *, asset: Asset, source_tf: str, target_tf: str, progress: Progress | None = None
) -> UpsertResult:
    """Build `target_tf` candles of `asset` from its `source_tf` ones and upsert them.

    Each period gets the first open, the highest high, the lowest low, the last close and the sum
    of the volumes. Only complete periods are built: those the stored data covers from their start
    to their end (a missing candle inside a period means no trades, not missing data). A period
    with a price point in it is a price point too: its high and low are not a traded range.
    """
    _resample_check(source_tf, target_tf)
    candles = PriceData.objects.series(asset, source_tf).order_by("candle_time")
    first = candles.values_list("candle_time", flat=True).first()
    last = candles.reverse().values_list("candle_time", flat=True).first()
    if first is None:
        return UpsertResult()
    data_end = next_time(last, source_tf)

    def complete(period: dict) -> bool:
        return period["candle_time"] >= first and next_time(period["candle_time"], target_tf) <= data_end

    def periods() -> Iterator[dict]:
        period = None
        values = candles.values_list("candle_time", *OHLCV_COLUMNS, "is_price_point")
        for moment, open_, high, low, close, volume, point in values.iterator(chunk_size=10_000):
            start = floor_time(moment, target_tf)
            if period is None or period["candle_time"] != start:
                if period and complete(period):
                    yield period
                period = {"candle_time": start, "open": open_, "high": high, "low": low, "volume": Decimal(0)}
                period["point"] = False
            period["point"] |= point
            period["high"] = max(period["high"], high)
            period["low"] = min(period["low"], low)
            period["close"] = close
            period["volume"] += volume
        if period and complete(period):
            yield period

    built = {False: [], True: []}
    for period in periods():
        built[period.pop("point")].append(period)
    result = UpsertResult()
    for points, rows in built.items():
        if rows:
            part = candles_upsert(
                asset=asset, timeframe=target_tf, rows=rows, progress=progress, price_points=points
            )
            for name in ("inserted", "updated", "unchanged", "indicators"):
                setattr(result, name, getattr(result, name) + getattr(part, name))
            result.rejected += part.rejected
    return result
