"""Market snapshots: build them from stored candles, and merge in external macro metrics.

build_snapshots owns DERIVED_FIELDS (see macro.derivations for their definitions) and rewrites
them on every run; every other metric is external (fear & greed, funding, S&P 500, ...) and only
import_metrics writes it, so a rebuild never blanks it. A derived field that an import set
explicitly (listed in data_quality_flags["imported_fields"]) is the import's and is kept too.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from django.db import models, transaction
from django.utils import timezone

from assets.choices import AssetType
from assets.indicators import WARMUP_CANDLES
from assets.models import Asset, PriceData
from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.timeframes import floor_time, parse_timestamp

from .derivations import HALVINGS, snapshot_frame
from .models import MetricsSnapshot

if TYPE_CHECKING:
    from assets.services.results import Progress

BTC, ETH = "BTC", "ETH"
SNAPSHOT_VERSION = "derived-1"
BATCH = 1000
IMPORTED = "imported_fields"
DERIVED_FIELDS = (
    "btc_price_usd",
    "rsi_14",
    "sma_200",
    "ema_200",
    "weekly_return",
    "monthly_return",
    "btc_eth_correlation_30d",
    "btc_dominance",
    "eth_dominance",
    "altcoin_dominance",
    "total_market_cap",
    "halving_countdown_days",
    "crypto_market_breadth",
    "new_highs_24h",
    "new_lows_24h",
    "momentum_index",
)
# Flags that build_snapshots writes (and so replaces on a rebuild).
DERIVED_FLAGS = (*DERIVED_FIELDS, "missing_market_cap")
KEY_FIELDS = ("snapshot_time", "timeframe")
SYSTEM_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "is_validated",
    "data_quality_flags",
    "snapshot_version",
    "has_anomalies",
    "data_source",
    "data_collection_started",
    "data_collection_completed",
    "collection_duration_ms",
)
METRIC_FIELDS = tuple(
    f.name for f in MetricsSnapshot._meta.concrete_fields if f.name not in (*KEY_FIELDS, *SYSTEM_FIELDS)
)
EXTERNAL_FIELDS = tuple(name for name in METRIC_FIELDS if name not in DERIVED_FIELDS)
# Import checks beyond the column's size (the DB checks fear & greed, BTC dominance, BTC price).
RANGES = {
    "fear_greed_index": (0, 100),
    "google_trends_score": (0, 100),
    "btc_dominance": (0, 100),
    "eth_dominance": (0, 100),
    "usdt_dominance": (0, 100),
    "altcoin_dominance": (0, 100),
    "crypto_market_breadth": (0, 100),
    "rsi_14": (0, 100),
    "btc_eth_correlation_30d": (-1, 1),
    "btc_sp500_correlation_30d": (-1, 1),
}
NON_NEGATIVE = {
    "open_interest_btc",
    "active_addresses_btc",
    "liquidations_long",
    "liquidations_short",
    "total_market_cap",
    "new_highs_24h",
    "new_lows_24h",
    "sp500",
    "gold",
    "dxy",
    "vix_index",
}
JSON_TYPES = {"liquidation_zones": list, "extended_metrics": dict}
INT_LIMIT = 2**31


class MetricsError(ValueError):
    """Snapshots cannot be built, or a metrics file cannot be imported at all."""


def tracked_assets():
    """Return the assets that count in market-wide metrics: active, supported crypto and stablecoins."""
    return Asset.objects.filter(
        is_active=True, is_supported=True, asset_type__in=[AssetType.CRYPTO, AssetType.STABLECOIN]
    )


def _column(name: str) -> models.Field:
    return MetricsSnapshot._meta.get_field(name)


def _fits(name: str, number: Decimal) -> tuple[Decimal | None, str | None]:
    """Return `number` rounded to the column's places, or the reason it does not fit."""
    column = _column(name)
    quantized = number.quantize(Decimal(1).scaleb(-column.decimal_places), ROUND_HALF_EVEN)
    if abs(quantized) >= Decimal(10) ** (column.max_digits - column.decimal_places):
        return None, f"{number} does not fit decimal({column.max_digits},{column.decimal_places})"
    return quantized, None


# --- build_snapshots --------------------------------------------------------------------------


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
    number, problem = _fits(name, Decimal(repr(float(value))))
    if problem:
        flags[name] = f"out of range: {problem}"
    return number


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
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SnapshotCounts:
    """Compute the derived MetricsSnapshot fields from stored candles, one snapshot per BTC candle.

    Upserts by (snapshot_time, timeframe), keeping external and imported fields; a rerun writes
    nothing new. `since` limits the periods written, not the history the indicators see;
    `dry_run` computes and counts but rolls the writes back.
    """
    started, clock = timezone.now(), time.monotonic()
    if timeframe not in Timeframe.values:
        raise MetricsError(f"unknown timeframe {timeframe!r}; choose from {', '.join(Timeframe.values)}")
    since = _aware(since)
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=[BTC, ETH])}
    if BTC not in assets:
        raise MetricsError("no asset with symbol BTC: import assets and BTC candles first")
    btc, eth = assets[BTC].pk, assets[ETH].pk if ETH in assets else None
    tracked = dict(tracked_assets().values_list("id", "asset_type"))
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
        transaction.set_rollback(dry_run)
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


# --- import_metrics ---------------------------------------------------------------------------


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the file's keys and (line, record) pairs: a CSV with a header, or a JSON array of objects."""
    if not path.is_file():
        raise MetricsError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MetricsError(f"{path}: not a UTF-8 text file, expected a CSV or JSON of metrics") from None
    if text.lstrip()[:1] in ("[", "{"):
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise MetricsError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, list):
            raise MetricsError(f"{path}: JSON must be an array of objects, one per snapshot")
        records = list(enumerate(data, start=1))
        keys = sorted({key for _, record in records if isinstance(record, dict) for key in record})
        return keys, records
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise MetricsError(f"{path}: empty file, expected a header of MetricsSnapshot field names")
    records = [(reader.line_num, record) for record in reader]
    return [name.strip() for name in reader.fieldnames], records


def _check_keys(keys: list[str]) -> None:
    from difflib import get_close_matches

    allowed = (*KEY_FIELDS, *METRIC_FIELDS)
    problems = []
    for key in keys:
        if key in SYSTEM_FIELDS:
            problems.append(f"{key} (set by the system, not importable)")
        elif key not in allowed:
            close = get_close_matches(key, allowed, n=1)
            problems.append(f"{key} (did you mean {close[0]}?)" if close else key)
    if problems:
        raise MetricsError(f"unknown fields: {', '.join(problems)}; importable: {', '.join(allowed)}")
    if "snapshot_time" not in keys:
        raise MetricsError("no snapshot_time field: every record needs one")


def _metric_value(name: str, value):
    """Return `value` as the column `name` stores it, or raise ValueError with the reason."""
    column = _column(name)
    if isinstance(column, models.JSONField):
        if isinstance(value, str):
            try:
                value = json.loads(value, parse_float=Decimal)
            except json.JSONDecodeError:
                raise ValueError(f"not JSON: {value!r}") from None
        if not isinstance(value, JSON_TYPES[name]):
            raise ValueError(f"must be a JSON {'array' if JSON_TYPES[name] is list else 'object'}")
        return json.loads(json.dumps(value, default=float))
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    low, high = RANGES.get(name, (0 if name in NON_NEGATIVE else None, None))
    if name == "btc_price_usd" and number <= 0:
        raise ValueError(f"must be greater than 0, not {number}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(
            f"must be between {low} and {high}, not {number}"
            if high is not None
            else f"must not be negative, not {number}"
        )
    if isinstance(column, models.IntegerField):
        if number != number.to_integral_value() or abs(number) >= INT_LIMIT:
            raise ValueError(f"not a whole number that fits: {value!r}")
        return int(number)
    fitted, problem = _fits(name, number)
    if problem:
        raise ValueError(problem)
    return fitted


def _metric_parse(record: dict) -> tuple[tuple[datetime, str], dict]:
    """Return the (snapshot_time, timeframe) key and metric values; raise ValueError naming each problem."""
    errors, values = [], {}
    record = {key.strip(): value for key, value in record.items() if key is not None}
    timeframe = str(record.get("timeframe") or Timeframe.D1).strip()
    if timeframe not in Timeframe.values:
        errors.append(f"timeframe: unknown {timeframe!r}")
    moment, raw_time = None, record.get("snapshot_time")
    if raw_time is None or (isinstance(raw_time, str) and not raw_time.strip()):
        errors.append("snapshot_time: required")
    else:
        try:
            moment, _ = parse_timestamp(raw_time)
        except ValueError as exc:
            errors.append(f"snapshot_time: {exc}")
    if moment is not None and timeframe in Timeframe.values and floor_time(moment, timeframe) != moment:
        errors.append(
            f"snapshot_time: {moment.isoformat()} is not the open of a {timeframe} period "
            f"({floor_time(moment, timeframe).isoformat()} is)"
        )
    for name, value in record.items():
        if name in KEY_FIELDS or value is None or (isinstance(value, str) and not value.strip()):
            continue  # an empty cell leaves the stored value alone
        try:
            values[name] = _metric_value(name, value)
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise ValueError("; ".join(errors))
    return (moment, timeframe), values


def _import_apply(snapshot: MetricsSnapshot, values: dict, now: datetime) -> bool:
    """Write imported values into an existing snapshot; return whether anything changed."""
    before = {name: getattr(snapshot, name) for name in values}
    old_flags = snapshot.data_quality_flags or {}
    for name, value in values.items():
        if name == "extended_metrics":
            value = {**(snapshot.extended_metrics or {}), **value}
        setattr(snapshot, name, value)
    flags = {**old_flags, IMPORTED: sorted({*old_flags.get(IMPORTED, []), *values})}
    source = snapshot.data_source if snapshot.data_source == "imported" else "merged"
    changed = (
        any(before[name] != getattr(snapshot, name) for name in values)
        or flags != old_flags
        or source != snapshot.data_source
    )
    snapshot.data_quality_flags, snapshot.data_source, snapshot.updated_at = flags, source, now
    return changed


def _import_batch(
    timeframe: str, items: list[tuple[datetime, dict, list[int]]], counts: ImportCounts
) -> None:
    times = [moment for moment, _, _ in items]
    existing = {
        s.snapshot_time: s
        for s in MetricsSnapshot.objects.filter(timeframe=timeframe, snapshot_time__in=times)
    }
    missing = [moment for moment in times if moment not in existing]
    btc_closes = dict(
        PriceData.objects.filter(asset__symbol=BTC, timeframe=timeframe, candle_time__in=missing).values_list(
            "candle_time", "close_price"
        )
    )
    now = timezone.now()
    created, updated, fields = [], [], {"data_quality_flags", "data_source", "updated_at"}
    for moment, values, lines in items:
        snapshot = existing.get(moment)
        if snapshot is not None:
            if _import_apply(snapshot, values, now):
                updated.append(snapshot)
                fields.update(values)
            else:
                counts.unchanged += 1
            continue
        price = values.get("btc_price_usd", btc_closes.get(moment))
        if price is None:
            reason = (
                f"no snapshot for {moment.isoformat()} {timeframe} yet, and no btc_price_usd to create it: "
                f"add btc_price_usd or import the BTC {timeframe} candle first"
            )
            counts.rejected.extend(Rejection(line, reason) for line in lines)
            continue
        created.append(
            MetricsSnapshot(
                snapshot_time=moment,
                timeframe=timeframe,
                **{**values, "btc_price_usd": price},
                data_source="imported",
                data_quality_flags={IMPORTED: sorted(values)},
            )
        )
    with transaction.atomic():
        MetricsSnapshot.objects.bulk_create(created)
        MetricsSnapshot.objects.bulk_update(updated, sorted(fields))
    counts.created += len(created)
    counts.updated += len(updated)


def metrics_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportCounts:
    """Upsert external metrics from a CSV or JSON file into MetricsSnapshot by (snapshot_time, timeframe).

    Keys are MetricsSnapshot field names; timeframe defaults to 1d; an empty value leaves the
    stored one alone; a repeated period merges its rows, later values winning. A bad row is
    rejected with its line (JSON: its position in the array) and the good rows are kept.
    """
    keys, records = _read(Path(path))
    _check_keys(keys)
    counts = ImportCounts()
    merged: dict[tuple[datetime, str], tuple[dict, list[int]]] = {}
    for line, record in records:
        if not isinstance(record, dict):
            counts.rejected.append(Rejection(line, "not an object"))
            continue
        try:
            key, values = _metric_parse(record)
        except ValueError as exc:
            counts.rejected.append(Rejection(line, str(exc)))
            continue
        known, lines = merged.setdefault(key, ({}, []))
        known.update(values)
        lines.append(line)
    if progress is not None:
        progress.total = len(merged)
    by_timeframe: dict[str, list] = {}
    for (moment, timeframe), (values, lines) in sorted(merged.items()):
        by_timeframe.setdefault(timeframe, []).append((moment, values, lines))
    with transaction.atomic():
        for timeframe, items in by_timeframe.items():
            for first in range(0, len(items), BATCH):
                batch = items[first : first + BATCH]
                _import_batch(timeframe, batch, counts)
                if progress is not None:
                    progress.update(len(batch))
        transaction.set_rollback(dry_run)
    counts.rejected.sort(key=lambda rejection: rejection.line)
    return counts
