"""Build MetricsSnapshot rows from stored candles (build_snapshots)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from math import isfinite
from typing import TYPE_CHECKING

import pandas as pd
from django.db import models, transaction
from django.utils import timezone

from assets.choices import AssetType
from assets.indicators import WARMUP_CANDLES
from assets.models import Asset, PriceData
from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.numbers import DecimalOverflow, decimal_for_field
from cryptopredict.timeframes import UnknownTimeframe, timeframe_check

from ..derivations import HALVINGS, snapshot_frame
from ..models import MetricsSnapshot
from .fields import (
    BATCH,
    BTC,
    DERIVED_FIELDS,
    DERIVED_FLAGS,
    ETH,
    EXTERNAL_FIELDS,
    IMPORTED,
    MetricsError,
    _column,
)

if TYPE_CHECKING:
    from assets.services.results import Progress

SNAPSHOT_VERSION = "derived-1"


@dataclass
class SnapshotCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _aware(moment: date | datetime | None) -> datetime | None:
    if moment is None or isinstance(moment, datetime):
        return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _candle_frames(timeframe: str, asset_ids: set[int], start: datetime | None) -> dict[str, pd.DataFrame]:
    """Return wide frames (time x asset id) of high, low, close and market cap, and BTC's exact closes."""
    rows = PriceData.objects.filter(asset_id__in=asset_ids, timeframe=timeframe)
    if start is not None:
        rows = rows.filter(candle_time__gte=start)
    columns = ["asset", "time", "high", "low", "close", "cap"]
    values = rows.values_list(
        "asset_id", "candle_time", "high_price", "low_price", "close_price", "market_cap"
    )
    long = pd.DataFrame.from_records(values.iterator(chunk_size=10_000), columns=columns)
    long["time"] = pd.to_datetime(long["time"], utc=True)
    frames = {"exact_close": long.pivot(index="time", columns="asset", values="close")}
    for name in ("high", "low", "close", "cap"):
        frames[name] = long.pivot(index="time", columns="asset", values=name).astype(float)
    return frames


def _number(name: str, value, flags: dict) -> Decimal | int | None:
    """Return a derived float as the column's type, or None (flagged) when unknown or out of range."""
    if value is None or not isfinite(value):
        return None
    if isinstance(_column(name), models.IntegerField):
        return int(value)
    try:
        return decimal_for_field(Decimal(repr(float(value))), _column(name))
    except DecimalOverflow as problem:
        flags[name] = f"out of range: {problem}"
        return None


def _derived(record: dict, btc_close: Decimal, symbols: dict[int, str]) -> tuple[dict, dict, bool]:
    """Return one period's derived field values, its flags and whether a value was out of range."""
    flags: dict = {}
    values = {"btc_price_usd": btc_close}
    values.update({name: _number(name, record[name], flags) for name in DERIVED_FIELDS[1:]})
    anomalous = bool(flags)
    if record["missing_market_cap"]:
        flags["missing_market_cap"] = sorted(symbols[asset_id] for asset_id in record["missing_market_cap"])
    if values["halving_countdown_days"] is None:
        flags["halving_countdown_days"] = f"no halving date known after {HALVINGS[-1]}"
    return values, flags, anomalous


def _has_external(snapshot: MetricsSnapshot) -> bool:
    external = (getattr(snapshot, name) for name in EXTERNAL_FIELDS)
    return bool((snapshot.data_quality_flags or {}).get(IMPORTED)) or any(
        value not in (None, [], {}) for value in external
    )


def _merge(snapshot: MetricsSnapshot, values: dict, flags: dict, anomalous: bool) -> bool:
    """Write derived values into an existing snapshot, keeping imported fields; return whether it changed."""
    old_flags = snapshot.data_quality_flags or {}
    imported = set(old_flags.get(IMPORTED, []))
    values = {name: value for name, value in values.items() if name not in imported}
    new_flags = {key: value for key, value in old_flags.items() if key not in DERIVED_FLAGS}
    new_flags |= {key: value for key, value in flags.items() if key not in imported}
    changed = (
        any(getattr(snapshot, name) != value for name, value in values.items())
        or new_flags != old_flags
        or snapshot.has_anomalies != anomalous
    )
    for name, value in values.items():
        setattr(snapshot, name, value)
    snapshot.data_quality_flags = new_flags
    snapshot.has_anomalies = anomalous
    snapshot.data_source = "merged" if _has_external(snapshot) else "derived"
    return changed


def snapshots_build(
    *,
    timeframe: str = Timeframe.D1,
    since: date | datetime | None = None,
    progress: Progress | None = None,
) -> SnapshotCounts:
    """Compute the derived MetricsSnapshot fields from stored candles, one snapshot per BTC candle.

    Upserts by (snapshot_time, timeframe), keeping external and imported fields; a rerun writes
    nothing new. `since` limits the periods written, not the history the indicators see;
    """
    started, clock = timezone.now(), time.monotonic()
    try:
        timeframe_check(timeframe)
    except UnknownTimeframe as exc:
        raise MetricsError(str(exc)) from None
    since = _aware(since)
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=[BTC, ETH])}
    if BTC not in assets:
        raise MetricsError("no asset with symbol BTC: import assets and BTC candles first")
    btc, eth = assets[BTC].pk, assets[ETH].pk if ETH in assets else None
    tracked = dict(Asset.objects.tracked().values_list("id", "asset_type"))
    delta = TIMEFRAME_DELTAS.get(timeframe)
    start = since - WARMUP_CANDLES * delta if since is not None and delta is not None else None
    frames = _candle_frames(timeframe, {btc, *([eth] if eth else []), *tracked}, start)
    if btc not in frames["close"]:
        raise MetricsError(f"no BTC {timeframe} candles: import them first")
    derived = snapshot_frame(
        close=frames["close"],
        high=frames["high"],
        low=frames["low"],
        cap=frames["cap"].reindex(columns=[a for a in tracked if a in frames["cap"]]),
        btc=btc,
        eth=eth,
        crypto=[a for a, kind in tracked.items() if kind == AssetType.CRYPTO],
        timeframe=timeframe,
    )
    if since is not None:
        derived = derived[derived.index >= since]
    exact_close = frames["exact_close"][btc]
    symbols = dict(Asset.objects.filter(id__in=tracked).values_list("id", "symbol"))
    completed = timezone.now()
    run = {
        "snapshot_version": SNAPSHOT_VERSION,
        "data_collection_started": started,
        "data_collection_completed": completed,
        "collection_duration_ms": int((time.monotonic() - clock) * 1000),
        "updated_at": completed,
    }
    if progress is not None:
        progress.total = len(derived)
    counts = SnapshotCounts()
    context = {"timeframe": timeframe, "exact_close": exact_close, "symbols": symbols, "run": run}
    with transaction.atomic():
        for first in range(0, len(derived), BATCH):
            batch = derived.iloc[first : first + BATCH]
            _write_batch(batch, counts=counts, **context)
            if progress is not None:
                progress.update(len(batch))
    return counts


def _write_batch(batch: pd.DataFrame, *, timeframe, exact_close, symbols, run, counts) -> None:
    times = [moment.to_pydatetime() for moment in batch.index]
    existing = {
        snapshot.snapshot_time: snapshot
        for snapshot in MetricsSnapshot.objects.filter(
            timeframe=timeframe, snapshot_time__range=(times[0], times[-1])
        )
    }
    created, updated = [], []
    for moment, record in zip(times, batch.to_dict("records"), strict=True):
        values, flags, anomalous = _derived(record, exact_close[moment], symbols)
        snapshot = existing.get(moment)
        if snapshot is None:
            created.append(
                MetricsSnapshot(
                    snapshot_time=moment,
                    timeframe=timeframe,
                    data_quality_flags=flags,
                    has_anomalies=anomalous,
                    data_source="derived",
                    **values,
                    **run,
                )
            )
        elif _merge(snapshot, values, flags, anomalous):
            for name, value in run.items():
                setattr(snapshot, name, value)
            updated.append(snapshot)
        else:
            counts.unchanged += 1
    fields = [*DERIVED_FIELDS, "data_quality_flags", "has_anomalies", "data_source", *run]
    with transaction.atomic():
        MetricsSnapshot.objects.bulk_create(created)
        MetricsSnapshot.objects.bulk_update(updated, fields)
    counts.created += len(created)
    counts.updated += len(updated)
