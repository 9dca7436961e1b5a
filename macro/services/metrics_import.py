"""Merge external macro metrics from a CSV or JSON file into MetricsSnapshot rows (import_metrics)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.utils import timezone

from assets.models import PriceData
from cryptopredict.choices import Timeframe
from cryptopredict.imports import ROW, ImportResult, Rejection
from cryptopredict.numbers import decimal_for_field
from cryptopredict.timeframes import UnknownTimeframe, floor_time, parse_timestamp, timeframe_check

from ..models import MetricsSnapshot
from .fields import (
    BATCH,
    BTC,
    IMPORTED,
    KEY_FIELDS,
    METRIC_FIELDS,
    SYSTEM_FIELDS,
    MetricsError,
    _column,
)

if TYPE_CHECKING:
    from assets.services.results import Progress

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
    return decimal_for_field(number, column)  # its DecimalOverflow is a ValueError naming the column


def _metric_parse(record: dict) -> tuple[tuple[datetime, str], dict, dict[str, list[str]]]:
    """Return the (snapshot_time, timeframe) key, the metric values and, per field, what is wrong."""
    errors: dict[str, list[str]] = {}
    values = {}
    record = {key.strip(): value for key, value in record.items() if key is not None}
    timeframe = str(record.get("timeframe") or Timeframe.D1).strip()
    try:
        timeframe_check(timeframe)
    except UnknownTimeframe as exc:
        errors["timeframe"] = [str(exc)]
    moment, raw_time = None, record.get("snapshot_time")
    if raw_time is None or (isinstance(raw_time, str) and not raw_time.strip()):
        errors["snapshot_time"] = ["required"]
    else:
        try:
            moment, _ = parse_timestamp(raw_time)
        except ValueError as exc:
            errors["snapshot_time"] = [str(exc)]
    if moment is not None and timeframe in Timeframe.values and floor_time(moment, timeframe) != moment:
        errors["snapshot_time"] = [
            f"{moment.isoformat()} is not the open of a {timeframe} period "
            f"({floor_time(moment, timeframe).isoformat()} is)"
        ]
    for name, value in record.items():
        if name in KEY_FIELDS or value is None or (isinstance(value, str) and not value.strip()):
            continue  # an empty cell leaves the stored value alone
        try:
            values[name] = _metric_value(name, value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    return (moment, timeframe), values, errors


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
    timeframe: str, items: list[tuple[datetime, dict, list[int]]], counts: ImportResult
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
            counts.rejected.extend(Rejection(line, {ROW: [reason]}) for line in lines)
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
    counts.inserted += len(created)
    counts.updated += len(updated)


def metrics_import(*, path: str | Path, progress: Progress | None = None) -> ImportResult:
    """Upsert external metrics from a CSV or JSON file into MetricsSnapshot by (snapshot_time, timeframe).

    Keys are MetricsSnapshot field names; see metrics_merge. A bad row is rejected with its line
    (JSON: its position in the array) and the good rows are kept.
    """
    keys, records = _read(Path(path))
    return metrics_merge(keys=keys, records=records, progress=progress)


def metrics_merge(
    *,
    keys: list[str],
    records: list[tuple[int, dict]],
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert (line, record) pairs of external metrics into MetricsSnapshot by (snapshot_time, timeframe).

    `keys` are the field names the records use (checked first: an unknown one refuses them all).
    Timeframe defaults to 1d; an empty value leaves the stored one alone; a repeated period merges
    its records, later values winning. A bad record is rejected with its line, the good ones kept.
    Used by import_metrics (a file) and the market data syncs (Fear & Greed, FRED, Binance futures).
    """
    _check_keys(keys)
    counts = ImportResult()
    merged: dict[tuple[datetime, str], tuple[dict, list[int]]] = {}
    for line, record in records:
        if not isinstance(record, dict):
            counts.rejected.append(Rejection(line, {ROW: ["not an object"]}))
            continue
        key, values, errors = _metric_parse(record)
        if errors:
            counts.rejected.append(Rejection(line, errors))
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
    counts.rejected.sort(key=lambda rejection: rejection.line)
    return counts
