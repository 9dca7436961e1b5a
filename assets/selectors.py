"""Reads of candles worth naming."""

from django.db import connection

from .models import Asset, PriceData, PriceDataArchive

# What every filter of a candle list keeps in time order: (asset, timeframe, candle_time) for an
# asset, (timeframe, candle_time) for a timeframe, candle_time itself otherwise.
FILTERED_ORDERINGS = ("candle_time",)


def candle_orderings(model, *, filtered: bool) -> tuple[str, ...]:
    """Return the columns a list of `model`'s candles can be sorted by with an index doing the work.

    Unfiltered, any column that has an index of its own (candle_time, volume). Filtered (by
    asset, timeframe or anything else), candle_time only: walking the volume index for one
    asset's candles reads every other asset's candles on the way (3 s for one asset of 11M rows).
    """
    if filtered:
        return FILTERED_ORDERINGS
    single = [index.fields[0] for index in model._meta.indexes if len(index.fields) == 1]
    return tuple(name for name in single if not name.startswith("-"))


def candles_read(*, asset: Asset, timeframe: str, start=None, end=None, limit: int, fields: list[str]):
    """Return up to `limit` candles of `asset` (live and archived), oldest first, as value dicts.

    With `start`, the first `limit` candles from `start`; otherwise the latest `limit` up to `end`.
    """
    order = "candle_time" if start is not None else "-candle_time"
    # Where the database allows it, each table is limited first, so each reads `limit` index
    # entries instead of every candle of the asset.
    per_table = connection.features.supports_slicing_ordering_in_compound
    parts = []
    for model in (PriceData, PriceDataArchive):
        rows = model.objects.filter(asset=asset, timeframe=timeframe)
        if start is not None:
            rows = rows.filter(candle_time__gte=start)
        if end is not None:
            rows = rows.filter(candle_time__lte=end)
        rows = rows.values(*fields)
        parts.append(rows.order_by(order)[:limit] if per_table else rows.order_by())
    candles = list(parts[0].union(parts[1], all=True).order_by(order)[:limit])
    return candles if start is not None else candles[::-1]
