"""Reads of candles worth naming."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pandas as pd
from django.db import connection, connections, router
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef
from django.db.models.deletion import Collector, ProtectedError, RestrictedError

from cryptopredict.choices import Timeframe

from .candle_columns import CANDLE_COLUMNS, CANDLE_KEYS, OHLCV_COLUMNS, PRICE_KEYS
from .models import Asset, LatestCandle, PriceData, PriceDataArchive

# What every filter of a candle list keeps in time order: (asset, timeframe, candle_time) for an
# asset, (timeframe, candle_time) for a timeframe, candle_time itself otherwise.
FILTERED_ORDERINGS = ("candle_time",)


def candle_orderings(model, *, filtered: bool) -> tuple[str, ...]:
    """Return the columns a list of `model`'s candles can be sorted by with an index doing the work.

    Unfiltered, the id and any column that has an index of its own (candle_time, volume). Filtered (by
    asset, timeframe or anything else), candle_time only: walking the volume index for one
    asset's candles reads every other asset's candles on the way (3 s for one asset of 11M rows).
    """
    if filtered:
        return FILTERED_ORDERINGS
    single = [index.fields[0] for index in model._meta.indexes if len(index.fields) == 1]
    return (model._meta.pk.name, *(name for name in single if not name.startswith("-")))


@dataclass(frozen=True)
class CandlePage:
    """One response's worth of candles, already rendered as a JSON array.

    `next_time` is the time of the first candle beyond the page in reading order (the next
    `start` when reading forward, the next `end` when reading back from the latest), or None.
    """

    body: bytes
    rows: int
    next_time: datetime | None


# Each candle as JSON, rendered by PostgreSQL: numbers exact and without padding (trim_scale),
# times in UTC with a Z. The Python renderer below gives the same bytes.
COMPACT_SQL = (
    "'[' || (extract(epoch FROM candle_time) * 1000)::bigint || ',' || trim_scale(open_price)"
    " || ',' || trim_scale(high_price) || ',' || trim_scale(low_price) || ',' || trim_scale(close_price)"
    " || ',' || trim_scale(volume) || ']'"
)
JSON_SQL = (
    'format(\'{"candle_time":"%%s","open":%%s,"high":%%s,"low":%%s,"close":%%s,'
    '"volume":%%s,"trade_count":%%s,"vwap":%%s,"market_cap":%%s}\','
    " to_char(candle_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " trim_scale(open_price), trim_scale(high_price), trim_scale(low_price), trim_scale(close_price),"
    " trim_scale(volume), coalesce(trade_count::text, 'null'), coalesce(trim_scale(vwap)::text, 'null'),"
    " coalesce(trim_scale(market_cap)::text, 'null'))"
)
COLUMNS, JSON_KEYS = list(CANDLE_COLUMNS.values()), list(CANDLE_KEYS)


def candles_page(
    *, asset: Asset, timeframe: str, start=None, end=None, limit: int, compact: bool
) -> CandlePage:
    """Return up to `limit` candles of `asset` (live and archived), oldest first, rendered as JSON.

    With `start`, the first `limit` candles from `start` (up to `end`); otherwise the latest
    `limit` up to `end`. Compact rows are `[t_ms, open, high, low, close, volume]`; the others are
    objects keyed as `JSON_KEYS`. Numbers are JSON numbers, exact and without padding.
    """
    forward = start is not None
    if connection.vendor == "postgresql":
        times, texts = _candles_sql(asset.pk, timeframe, start, end, limit + 1, forward, compact)
    else:
        times, texts = _candles_python(asset.pk, timeframe, start, end, limit + 1, forward, compact)
    next_time = times[limit] if len(times) > limit else None
    texts = texts[:limit]
    if not forward:
        texts.reverse()
    return CandlePage(body=b"[" + b",".join(texts) + b"]", rows=len(texts), next_time=next_time)


def _candles_sql(asset_id, timeframe, start, end, count, forward, compact) -> tuple[list, list[bytes]]:
    order = "candle_time" if forward else "candle_time DESC"
    where, params = ["asset_id = %s", "timeframe = %s"], [asset_id, timeframe]
    if start is not None:
        where.append("candle_time >= %s")
        params.append(start)
    if end is not None:
        where.append("candle_time <= %s")
        params.append(end)
    render = COMPACT_SQL if compact else JSON_SQL
    # Each table gives its first `count` in order from its unique index; the merge keeps `count`.
    part = f"(SELECT candle_time, {render} AS row FROM TABLE WHERE {' AND '.join(where)}"
    part += f" ORDER BY {order} LIMIT %s)"
    sql = " UNION ALL ".join(part.replace("TABLE", t) for t in ("price_data", "price_data_archive"))
    sql = f"SELECT candle_time, row FROM ({sql}) candles ORDER BY {order} LIMIT %s"
    with connections[router.db_for_read(PriceData)].cursor() as cursor:
        cursor.execute(sql, [*params, count, *params, count, count])
        rows = cursor.fetchall()
    return [row[0] for row in rows], [row[1].encode() for row in rows]


def _number(value: Decimal | int | None):
    """Return a decimal as a JSON number without exponent or padding (1.5, not 1.500000000000000000)."""
    if not isinstance(value, Decimal):
        return value
    text = format(value, "f")
    return orjson.Fragment(text.rstrip("0").rstrip(".") if "." in text else text)


def _candles_python(asset_id, timeframe, start, end, count, forward, compact) -> tuple[list, list[bytes]]:
    order = "candle_time" if forward else "-candle_time"
    columns = COLUMNS[:6] if compact else COLUMNS
    parts = []
    for model in (PriceData, PriceDataArchive):
        rows = model.objects.series(asset_id, timeframe)
        if start is not None:
            rows = rows.filter(candle_time__gte=start)
        if end is not None:
            rows = rows.filter(candle_time__lte=end)
        parts.append(rows.values_list(*columns).order_by())
    rows = list(parts[0].union(parts[1], all=True).order_by(order)[:count])
    texts = []
    for row in rows:
        moment, *numbers = row
        if compact:
            texts.append(orjson.dumps([int(moment.timestamp() * 1000), *map(_number, numbers)]))
        else:
            values = [moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), *map(_number, numbers)]
            texts.append(orjson.dumps(dict(zip(JSON_KEYS, values, strict=True))))
    return [row[0] for row in rows], texts


FRAME_COLUMNS = {
    **{key: CANDLE_COLUMNS[key] for key in (*PRICE_KEYS, "volume", "market_cap")},
    "price_point": "is_price_point",  # 1.0 on a price point (no traded range), 0.0 on real OHLC
}


def candle_frames(
    *, timeframe: str, asset_ids=None, end: datetime | None = None, fields=("close",)
) -> dict[str, pd.DataFrame]:
    """Return one frame per field (index candle_time, one float column per asset id, NaN where missing)."""
    candles = PriceData.objects.filter(timeframe=timeframe)
    if asset_ids is not None:
        candles = candles.filter(asset_id__in=list(asset_ids))
    if end is not None:
        candles = candles.filter(candle_time__lte=end)
    values = candles.order_by("candle_time").values_list(
        "asset_id", "candle_time", *(FRAME_COLUMNS[f] for f in fields)
    )
    long = pd.DataFrame.from_records(list(values), columns=["asset_id", "candle_time", *fields])
    frames = {}
    for field in fields:
        wide = (
            long.pivot(index="candle_time", columns="asset_id", values=field)
            if not long.empty
            else pd.DataFrame()
        )
        frames[field] = wide.apply(pd.to_numeric, errors="coerce").astype(float)
    return frames


# Indicators the price chart draws (columns of each candle).
CHART_INDICATORS = (
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
)


def candle_timeframes(*, asset: Asset) -> list[str]:
    """Return the timeframes in which `asset` has candles (live or archived), shortest first.

    One query of one index probe per timeframe, however many candles there are.
    """
    checks = {}
    for timeframe in Timeframe.values:
        live = PriceData.objects.series(OuterRef("pk"), timeframe)
        archived = PriceDataArchive.objects.series(OuterRef("pk"), timeframe)
        checks[f"has_{timeframe}"] = ExpressionWrapper(Exists(live) | Exists(archived), BooleanField())
    row = Asset.objects.filter(pk=asset.pk).values(**checks).first() or {}
    return [timeframe for timeframe in Timeframe.values if row.get(f"has_{timeframe}")]


def candle_table_timeframes(*, model) -> list[str]:
    """Return the timeframes that have candles in `model`'s table, shortest first.

    price_data's are read from `latest_candles` (one row per series: no probe of price_data's
    partitions; it lags a write by the refresh delay); another table's with one index probe
    per timeframe.
    """
    if model is PriceData:
        present = set(LatestCandle.objects.order_by().values_list("timeframe", flat=True).distinct())
    else:
        present = {tf for tf in Timeframe.values if model._default_manager.filter(timeframe=tf).exists()}
    return [timeframe for timeframe in Timeframe.values if timeframe in present]


def candle_chart_window(*, asset: Asset, timeframe: str, end=None, limit: int) -> dict:
    """Return the latest `limit` candles up to `end` with their stored indicators, for a chart.

    Times are Unix seconds (UTC); `more` says whether older candles may exist.
    """
    rows = _latest_candles(asset=asset, timeframe=timeframe, end=end, limit=limit)
    candles, indicators = [], {name: [] for name in CHART_INDICATORS}
    for row in rows:
        time = int(row["candle_time"].timestamp())
        candles.append(
            [
                time,
                float(row["open_price"]),
                float(row["high_price"]),
                float(row["low_price"]),
                float(row["close_price"]),
                float(row["volume"]),
            ]
        )
        for name in CHART_INDICATORS:
            if row[name] is not None:
                indicators[name].append([time, row[name]])
    return {"candles": candles, "indicators": indicators, "more": len(rows) == limit}


CHART_FIELDS = ("candle_time", *OHLCV_COLUMNS, *CHART_INDICATORS)


def _latest_candles(*, asset: Asset, timeframe: str, end, limit: int) -> list[dict]:
    """Return the latest `limit` candles up to `end` (live and archived), oldest first, as dicts."""
    # Where the database allows it, each table is limited first, so each reads `limit` index
    # entries instead of every candle of the asset.
    per_table = connection.features.supports_slicing_ordering_in_compound
    parts = []
    for model in (PriceData, PriceDataArchive):
        rows = model.objects.series(asset, timeframe)
        if end is not None:
            rows = rows.filter(candle_time__lte=end)
        rows = rows.values(*CHART_FIELDS)
        parts.append(rows.order_by("-candle_time")[:limit] if per_table else rows.order_by())
    return list(parts[0].union(parts[1], all=True).order_by("-candle_time")[:limit])[::-1]


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting some assets would delete, by model, or the rows that protect them."""

    counts: dict  # model -> rows
    protected: list  # objects that forbid the deletion


def asset_deletion_summary(*, assets) -> DeletionSummary:
    """Return, by model, how many rows deleting `assets` deletes, without loading the candles.

    Django's collector loads the rows it must visit one by one (signals, further cascades) and
    only names the querysets it can delete in one statement (candles): those are counted.
    """
    collector = Collector(using=router.db_for_write(Asset))
    try:
        collector.collect(list(assets))
    except (ProtectedError, RestrictedError) as error:
        objects = getattr(error, "protected_objects", None) or error.restricted_objects
        return DeletionSummary(counts={}, protected=list(objects))
    counts = Counter()
    for model, instances in collector.data.items():
        counts[model] += len(instances)
    for queryset in collector.fast_deletes:
        counts[queryset.model] += queryset.count()
    return DeletionSummary(counts={model: n for model, n in counts.items() if n}, protected=[])


@dataclass(frozen=True)
class CandlePartition:
    """One partition of a candle table: candles from `start` (inclusive) to `end`; both None: DEFAULT."""

    name: str
    start: datetime | None
    end: datetime | None


BOUND = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


def candle_partitions(*, model) -> list[CandlePartition]:
    """Return the partitions of `model`'s table, oldest first, DEFAULT last; [] if not partitioned."""
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [model._meta.db_table],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound in rows:  # bounds print in the session's time zone: Django's is UTC
        match = BOUND.fullmatch(bound)
        start, end = (
            (datetime.fromisoformat(match[1]), datetime.fromisoformat(match[2])) if match else (None, None)
        )
        partitions.append(CandlePartition(name=name, start=start, end=end))
    return sorted(partitions, key=lambda p: (p.start is None, p.start or datetime.min.replace(tzinfo=UTC)))
