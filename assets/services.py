"""Writes on assets and candles: the one validation and the one write path of candles."""

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import Protocol

from django.db import connection, transaction
from django.utils import timezone

from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe

from .candle_cache import candles_changed
from .candle_writes import (
    POSITION,
    batch_write_orm,
    batch_write_postgres,
    copy_prefix,
    copy_text,
    prefetched,
    stored_same,
)
from .importers import (
    EPOCH,
    ImportFormatError,
    floor_time,
    next_time,
    parse_timestamp,
    read_candles,
)
from .models import Asset, PriceData

BATCH_SIZE = 50_000
PRICE_FIELDS = ("open", "high", "low", "close")
# Column limits of the candle tables: DecimalField(38, 18) prices, (38, 8) volume, (30, 2) cap.
PRICE_QUANTUM = Decimal("1e-18")
VOLUME_QUANTUM = Decimal("1e-8")
CAP_QUANTUM = Decimal("0.01")
INT_MAX = 2**31 - 1
WIDE = Context(prec=60)  # room to quantize any value that fits a column


class Progress(Protocol):
    """What a long service reports to: tqdm bars fit (see cryptopredict.progress)."""

    total: int | None

    def update(self, n: int) -> None: ...


@dataclass
class Rejection:
    index_or_line: int
    errors: dict[str, list[str]]

    def reason(self) -> str:
        """Return the errors on one line, e.g. "high: 1 is below low 2; volume: required"."""
        return "; ".join(f"{key}: {', '.join(messages)}" for key, messages in self.errors.items())


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)


# --- Validation ------------------------------------------------------------------------------


def _decimal(
    value, *, quantum: Decimal, max_digits: int, positive: bool
) -> tuple[Decimal | None, str | None]:
    """Return `value` as a Decimal fitting a column of `max_digits` digits and `quantum` steps."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None, f"not a number: {value!r}"
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        return None, f"not a number: {value!r}"
    if not number.is_finite():
        return None, f"not a number: {value!r}"
    if positive and number <= 0:
        return None, f"must be greater than 0, not {number}"
    if not positive and number < 0:
        return None, f"must not be negative, not {number}"
    if number and number.adjusted() >= max_digits + quantum.as_tuple().exponent:
        return None, f"{number} is too large"
    if positive and number.adjusted() < quantum.as_tuple().exponent:
        return None, f"{number} is below the smallest stored step {quantum}"
    return number, None


def _aligned(moment: datetime, timeframe: str) -> bool:
    return floor_time(moment, timeframe) == moment


def candle_parse(row: Mapping, *, timeframe: str | None = None) -> tuple[dict | None, dict[str, list[str]]]:
    """Return the row as clean values (aware UTC candle_time, Decimals) and the errors that stop it.

    Checked: every field parses; prices > 0; low <= open, close <= high; volume >= 0; the time is
    aligned to `timeframe` and not in the future; values fit their columns. A missing volume counts as 0.
    """
    values = _candle_fast(row, timeframe, None)
    if values is not None:
        return dict(zip(CLEAN_KEYS, values, strict=False)), {}
    return _candle_slow(row, timeframe)


PRICE_MIN, PRICE_MAX = PRICE_QUANTUM, Decimal("1e20")  # numeric(38, 18), above 0
VOLUME_MAX, CAP_MAX = Decimal("1e30"), Decimal("1e28")
ZERO = Decimal(0)
ODD_ALIGNMENT = {Timeframe.W1, Timeframe.MO1}  # not a multiple of a fixed length since the epoch


def _number(value, low: Decimal, high: Decimal) -> Decimal | None:
    """Return a text or Decimal value within [low, high) as a Decimal, else None."""
    kind = type(value)
    if kind is str:
        try:
            value = Decimal(value)
        except InvalidOperation:
            return None
    elif kind is not Decimal:
        return None
    return value if value.is_finite() and low <= value < high else None


def _candle_fast(row: Mapping, timeframe: str | None, position) -> tuple | None:
    """Return the clean values (CLEAN_KEYS, then `position`) when every value is plainly good (the
    bulk of any import), else None.

    Inlined for speed: texts and Decimals only (a float, an int or anything odd goes the slow way).
    """
    try:
        moment = row["candle_time"]
        if moment.__class__ is not datetime or moment.tzinfo is not UTC:
            return None
        if timeframe and (timeframe in ODD_ALIGNMENT or (moment - EPOCH) % TIMEFRAME_DELTAS[timeframe]):
            return None
        if moment > datetime.now(UTC):
            return None
        open_, high, low, close = row["open"], row["high"], row["low"], row["close"]
        open_ = Decimal(open_) if open_.__class__ is str else open_
        high = Decimal(high) if high.__class__ is str else high
        low = Decimal(low) if low.__class__ is str else low
        close = Decimal(close) if close.__class__ is str else close
        volume = row.get("volume")
        volume = ZERO if volume is None else Decimal(volume) if volume.__class__ is str else volume
        if not (
            open_.is_finite()
            and high.is_finite()
            and low.is_finite()
            and close.is_finite()
            and volume.is_finite()
        ):
            return None
        if not (
            PRICE_MIN <= low <= open_ <= high < PRICE_MAX
            and low <= close <= high
            and ZERO <= volume < VOLUME_MAX
        ):
            return None
        count, vwap, cap = row.get("trade_count"), row.get("vwap"), row.get("market_cap")
    except (KeyError, AttributeError, TypeError, InvalidOperation):
        return None
    if count is not None:
        if count.__class__ is str and count.isdecimal() and len(count) < 10:
            count = int(count)
        elif count.__class__ is not int or not 0 <= count <= INT_MAX:
            return None
    if vwap is not None:
        # Not quantized: the column rounds it, and comparisons happen at the column's scale.
        vwap = _number(vwap, PRICE_MIN, PRICE_MAX)
        if vwap is None:
            return None
    if cap == "":
        cap = None
    elif cap is not None:
        cap = _number(cap, ZERO, CAP_MAX)
        if cap is None:
            return None
        cap = cap.quantize(CAP_QUANTUM, context=WIDE)
    volume = volume.quantize(VOLUME_QUANTUM, context=WIDE)
    return (moment, open_, high, low, close, volume, count, vwap, cap, position)


def _candle_slow(row: Mapping, timeframe: str | None) -> tuple[dict | None, dict[str, list[str]]]:
    """Return the clean row or, value by value, what is wrong with it."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    moment = row.get("candle_time")
    try:
        clean["candle_time"] = moment if _is_utc(moment) else parse_timestamp(moment)[0]
    except ValueError:
        errors["candle_time"] = [f"not a time: {moment!r}" if moment is not None else "required"]
    else:
        if timeframe and not _aligned(clean["candle_time"], timeframe):
            errors["candle_time"] = [f"{clean['candle_time'].isoformat()} is not aligned to {timeframe}"]
        elif clean["candle_time"] > datetime.now(UTC):
            # A candle opens at its candle_time: one from the future would become the "latest price".
            errors["candle_time"] = [f"{clean['candle_time'].isoformat()} is in the future"]
    for key in PRICE_FIELDS:
        value = row.get(key)
        if value is None:
            errors[key] = ["required"]
            continue
        clean[key], error = _decimal(value, quantum=PRICE_QUANTUM, max_digits=38, positive=True)
        if error:
            errors[key] = [error]
    volume = row.get("volume")
    clean["volume"], error = (
        (Decimal(0), None)
        if volume is None
        else _decimal(volume, quantum=VOLUME_QUANTUM, max_digits=38, positive=False)
    )
    if error:
        errors["volume"] = [error]
    else:  # stored with 8 decimals: compare and count in that form
        clean["volume"] = clean["volume"].quantize(VOLUME_QUANTUM, context=WIDE)
    if not errors.keys() & {"open", "high", "low", "close"}:
        _ohlc_check(clean, errors)
    _optional_parse(row, clean, errors)
    return (None if errors else clean), errors


def _is_utc(value) -> bool:
    return isinstance(value, datetime) and value.utcoffset() == timedelta(0)


def _ohlc_check(clean: dict, errors: dict) -> None:
    low, high = clean["low"], clean["high"]
    if high < low:
        errors["high"] = [f"{high} is below low {low}"]
        return
    for key in ("open", "close"):
        if clean[key] < low:
            errors.setdefault("low", []).append(f"{low} is above {key} {clean[key]}")
        if clean[key] > high:
            errors.setdefault("high", []).append(f"{high} is below {key} {clean[key]}")


def _optional_parse(row: Mapping, clean: dict, errors: dict) -> None:
    count = row.get("trade_count")
    if count in (None, ""):
        clean["trade_count"] = None
    else:
        try:
            clean["trade_count"] = int(count)
            if not 0 <= clean["trade_count"] <= INT_MAX:
                errors["trade_count"] = [f"must be between 0 and {INT_MAX}, not {count}"]
        except (TypeError, ValueError):
            errors["trade_count"] = [f"not a whole number: {count!r}"]
    for key, quantum, digits, positive in (
        ("vwap", PRICE_QUANTUM, 38, True),
        ("market_cap", CAP_QUANTUM, 30, False),
    ):
        value = row.get(key)
        if value in (None, ""):
            clean[key] = None
            continue
        clean[key], error = _decimal(value, quantum=quantum, max_digits=digits, positive=positive)
        if error:
            errors[key] = [error]
        else:
            clean[key] = clean[key].quantize(quantum, context=WIDE)


def candle_errors(row: Mapping, *, timeframe: str | None = None) -> dict[str, list[str]]:
    """Return field -> messages for everything wrong with one candle row (empty when it is good)."""
    return candle_parse(row, timeframe=timeframe)[1]


# --- Writing ---------------------------------------------------------------------------------


def _check_timeframe(timeframe: str) -> None:
    if timeframe not in Timeframe.values:
        raise ValueError(f"unknown timeframe {timeframe!r}; use one of {', '.join(Timeframe.values)}")


# A stored row, kept as a tuple to keep batches small: the staging columns, then the position.
CLEAN_KEYS = ("candle_time", "open", "high", "low", "close", "volume", "trade_count", "vwap", "market_cap")
assert len(CLEAN_KEYS) == POSITION
_clean_values = itemgetter(*CLEAN_KEYS)


def _clean_rows(rows: Iterable[Mapping], *, timeframe: str, rejected: list[Rejection]) -> Iterator[tuple]:
    """Yield the rows that pass candle_parse as tuples (CLEAN_KEYS, position); collect the others.

    The position is the row's `line`, else its `index`, else its place in `rows`.
    """
    for index, row in enumerate(rows):
        position = row.get("line")
        if position is None:
            position = row.get("index", index)
        values = _candle_fast(row, timeframe, position)
        if values is None:
            clean, errors = _candle_slow(row, timeframe)
            if errors:
                rejected.append(Rejection(position, errors))
                continue
            values = (*_clean_values(clean), position)
        yield values


def _batches(rows: Iterator[tuple], *, size: int, rejected: list[Rejection]) -> Iterator[dict]:
    """Yield dicts candle_time -> row of up to `size` rows; a repeated time keeps the last row."""
    batch: dict[datetime, tuple] = {}
    try:
        for row in rows:
            earlier = batch.pop(row[0], None)  # popped and re-added, so the batch keeps file order
            if earlier is not None:
                message = f"repeated at {row[POSITION]} with the same candle_time; the later row is kept"
                rejected.append(Rejection(earlier[POSITION], {"candle_time": [message]}))
            batch[row[0]] = row
            if len(batch) >= size:
                yield batch
                batch = {}
    except ImportFormatError:
        if batch:  # a file damaged midway: keep the good rows read before the damage
            yield batch
        raise
    if batch:
        yield batch


def candles_upsert(
    *,
    asset: Asset,
    timeframe: str,
    rows: Iterable[Mapping],
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    on_batch: Callable[[Iterable[datetime]], None] | None = None,
    method: str = "auto",
    read_ahead: bool = False,
) -> UpsertResult:
    """Validate and upsert candles of one asset and timeframe; return what was inserted, updated,
    left unchanged and rejected (with each row's `line`, else `index`, else position).

    Good rows are stored even when others are rejected; each batch is one transaction. On
    PostgreSQL the rows are COPied into a staging table and merged with one INSERT ... ON CONFLICT
    per batch that rewrites only candles whose values differ; elsewhere (or with
    method="bulk_create") bulk_create(update_conflicts=True) writes the new and changed ones.

    `read_ahead=True` parses the next batch in a thread while the database writes the current
    one; only for `rows` that do not touch the database (a file, not a queryset).
    """
    _check_timeframe(timeframe)
    result = UpsertResult()
    clean = _clean_rows(rows, timeframe=timeframe, rejected=result.rejected)
    copy = method == "copy" or (method == "auto" and connection.vendor == "postgresql")
    write = batch_write_postgres if copy else batch_write_orm
    # The COPY text is built with the batch, so that read-ahead does all of the Python work.
    prefix = copy_prefix(asset, timeframe)

    def prepared() -> Iterator[tuple[dict, bytes | None]]:
        for batch in _batches(clean, size=batch_size, rejected=result.rejected):
            if on_batch is not None:
                on_batch(batch)
            yield batch, copy_text(batch.values(), prefix) if copy else None

    for batch, text in prefetched(prepared()) if read_ahead else prepared():
        with transaction.atomic():
            inserted, updated = write(asset=asset, timeframe=timeframe, batch=batch, text=text)
        result.inserted += inserted
        result.updated += updated
        result.unchanged += len(batch) - inserted - updated
        if progress is not None:
            progress.update(len(batch))
    if result.inserted or result.updated:
        candles_changed(asset_id=asset.pk)
    return result


# --- Import ----------------------------------------------------------------------------------


@dataclass
class Gap:
    start: datetime  # the first missing candle
    end: datetime  # the last missing candle
    missing: int


@dataclass
class ImportReport:
    path: str
    fmt: str
    timeframe: str | None
    unit: str | None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    first_time: datetime | None = None
    last_time: datetime | None = None
    dry_run: bool = False

    @property
    def missing(self) -> int:
        return sum(gap.missing for gap in self.gaps)


class _GapTracker:
    """Note the first and last candle times and the missing candles between them."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.step = TIMEFRAME_DELTAS.get(report.timeframe)

    def __call__(self, times: Iterable[datetime]) -> None:
        report, step = self.report, self.step
        first, last = report.first_time, report.last_time
        for moment in times:
            if last is None:
                first = last = moment
            elif moment > last:
                if (moment - last != step) if step else moment != next_time(last, report.timeframe):
                    self._gap(last, moment)
                last = moment
            elif moment < first:
                first = moment
        report.first_time, report.last_time = first, last

    def _gap(self, last: datetime, moment: datetime) -> None:
        start = next_time(last, self.report.timeframe)
        if self.step:
            missing = (moment - start) // self.step
            self.report.gaps.append(Gap(start, moment - self.step, missing))
            return
        count, end = 0, start
        while next_time(end, self.report.timeframe) < moment:
            end, count = next_time(end, self.report.timeframe), count + 1
        self.report.gaps.append(Gap(start, end, count + 1))


@contextmanager
def _gc_paused():
    """Pause the cycle collector: candle rows hold no cycles, and its passes over the millions of
    young objects of a big import cost a third of the parsing time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _DryRun(Exception):
    """Raised to roll a dry run back."""


def candles_import(
    *,
    path: Path | str,
    asset: Asset,
    timeframe: str | None = None,
    fmt: str = "auto",
    dry_run: bool = False,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a candle file for `asset`: detect its format, check the timeframe, upsert the good
    rows, reject the bad ones with their line, report the gaps. A dry run rolls everything back.

    Raises ImportFormatError (and its TimeframeMismatch) when the file cannot be read as candles.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"no such file: {path}")
    candles = read_candles(path, fmt=fmt, timeframe=timeframe)
    report = ImportReport(str(path), candles.fmt, candles.timeframe, candles.unit, dry_run=dry_run)
    if progress is not None and candles.total:
        progress.total = candles.total

    try:
        if report.timeframe is None:  # an empty file
            list(candles.rows)
            return report
        # A dry run writes in one transaction that is rolled back, so its counts are exact.
        with transaction.atomic() if dry_run else nullcontext(), _gc_paused():
            result = candles_upsert(
                asset=asset,
                timeframe=report.timeframe,
                rows=candles.rows,
                batch_size=batch_size,
                progress=progress,
                on_batch=_GapTracker(report),
                read_ahead=True,
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        candles.close()
    report.inserted, report.updated, report.unchanged = result.inserted, result.updated, result.unchanged
    # Every row read was rejected (bad or repeated) or written, updated or left unchanged once.
    report.rows_read = result.inserted + result.updated + result.unchanged + len(result.rejected)
    report.rejected = sorted(result.rejected, key=lambda r: r.index_or_line)
    return report


# --- Resampling ------------------------------------------------------------------------------


def _resample_check(source_tf: str, target_tf: str) -> None:
    _check_timeframe(source_tf)
    _check_timeframe(target_tf)
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
    to their end (a missing candle inside a period means no trades, not missing data).
    """
    _resample_check(source_tf, target_tf)
    candles = PriceData.objects.filter(asset=asset, timeframe=source_tf).order_by("candle_time")
    first = candles.values_list("candle_time", flat=True).first()
    last = candles.reverse().values_list("candle_time", flat=True).first()
    if first is None:
        return UpsertResult()
    data_end = next_time(last, source_tf)

    def complete(period: dict) -> bool:
        return period["candle_time"] >= first and next_time(period["candle_time"], target_tf) <= data_end

    def periods() -> Iterator[dict]:
        period = None
        values = candles.values_list(
            "candle_time", "open_price", "high_price", "low_price", "close_price", "volume"
        )
        for moment, open_, high, low, close, volume in values.iterator(chunk_size=10_000):
            start = floor_time(moment, target_tf)
            if period is None or period["candle_time"] != start:
                if period and complete(period):
                    yield period
                period = {"candle_time": start, "open": open_, "high": high, "low": low, "volume": Decimal(0)}
            period["high"] = max(period["high"], high)
            period["low"] = min(period["low"], low)
            period["close"] = close
            period["volume"] += volume
        if period and complete(period):
            yield period

    return candles_upsert(asset=asset, timeframe=target_tf, rows=periods(), progress=progress)


# --- Archiving -------------------------------------------------------------------------------

ARCHIVE_COLUMNS = (
    "asset_id",
    "timeframe",
    "candle_time",
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "volume",
    "market_cap",
    "trade_count",
    "vwap",
    "technical_indicators",
    "is_validated",
    "created_at",
    "updated_at",
)


def _archive_sql(count: int) -> str:
    columns = ", ".join(ARCHIVE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ARCHIVE_COLUMNS[3:])
    placeholders = ", ".join(["%s"] * count)
    # The candle being archived is the newest version: it replaces an older archived copy.
    return (
        f"INSERT INTO price_data_archive ({columns}) SELECT {columns} FROM price_data "
        f"WHERE id IN ({placeholders}) "
        f"ON CONFLICT (asset_id, timeframe, candle_time) DO UPDATE SET {updates}"
    )


def candles_archive(
    *,
    older_than: timedelta,
    timeframe: str | None = None,
    batch_size: int = 10_000,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> int:
    """Move candles that opened more than `older_than` ago to price_data_archive; return how many.

    Each batch is one transaction (copy into the archive, then delete the same ids), so a crash
    between batches loses nothing and a rerun finishes the job. A dry run only counts.
    """
    if timeframe is not None:
        _check_timeframe(timeframe)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    candles = PriceData.objects.filter(candle_time__lt=timezone.now() - older_than)
    if timeframe:
        candles = candles.filter(timeframe=timeframe)
    if dry_run:
        return candles.count()
    if progress is not None:
        progress.total = candles.count()
    moved = 0
    while True:
        with transaction.atomic():
            ids = list(candles.order_by("pk").select_for_update().values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            with connection.cursor() as cursor:
                cursor.execute(_archive_sql(len(ids)), ids)
            PriceData.objects.filter(pk__in=ids).delete()
        moved += len(ids)
        if progress is not None:
            progress.update(len(ids))
    return moved


# --- Assets ----------------------------------------------------------------------------------

# Asset field -> key of a CoinGecko /coins/markets element.
MARKET_FIELDS = {
    "name": "name",
    "logo_url": "image",
    "market_cap": "market_cap",
    "market_cap_rank": "market_cap_rank",
    "current_price": "current_price",
    "total_volume": "total_volume",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "price_change_percentage_24h": "price_change_percentage_24h",
    "price_change_percentage_7d": "price_change_percentage_7d_in_currency",
    "price_change_percentage_30d": "price_change_percentage_30d_in_currency",
    "ath": "ath",
    "ath_date": "ath_date",
    "atl": "atl",
    "atl_date": "atl_date",
    "last_price_update": "last_updated",
}
ASSET_UPDATE_FIELDS = [*MARKET_FIELDS, "external_ids", "metrics_details", "data_source"]


def _jsonable(value):
    """Return `value` with Decimals turned into JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def _market_value(name: str, raw, errors: dict):
    """Return a CoinGecko value converted for the Asset field `name` (None when absent or bad)."""
    if raw is None or raw == "":
        return None
    model_field = Asset._meta.get_field(name)
    try:
        if model_field.get_internal_type() == "DecimalField":
            number = Decimal(str(raw))
            quantum = Decimal(1).scaleb(-model_field.decimal_places)
            if (
                not number.is_finite()
                or number.adjusted() >= model_field.max_digits - model_field.decimal_places
            ):
                raise ValueError(f"{raw} does not fit")
            return number.quantize(quantum, context=Context(prec=60))
        if model_field.get_internal_type() == "DateTimeField":
            return parse_timestamp(raw)[0]
        if model_field.get_internal_type() == "IntegerField":
            return int(raw)
    except (ValueError, InvalidOperation, TypeError) as exc:
        errors[name] = [f"bad value {raw!r} ({exc})"]
        return None
    return str(raw)


def _market_errors(values: dict, errors: dict) -> None:
    """Add the Asset table's check constraints that a CoinGecko element breaks."""
    if values["current_price"] is not None and values["current_price"] <= 0:
        errors["current_price"] = ["must be greater than 0"]
    for name in ("market_cap", "circulating_supply", "total_supply", "max_supply"):
        if values[name] is not None and values[name] < 0:
            errors[name] = ["must not be negative"]
    if values["market_cap_rank"] is not None and values["market_cap_rank"] <= 0:
        errors["market_cap_rank"] = ["must be greater than 0"]
    supply, cap = values["circulating_supply"], values["max_supply"]
    if supply is not None and cap is not None and supply > cap:
        errors["circulating_supply"] = [f"{supply} is above max_supply {cap}"]


def assets_import(*, path: Path | str) -> UpsertResult:
    """Upsert assets (by upper-cased symbol) from a CoinGecko /coins/markets JSON list.

    Every Asset field the element fills is set (7d/30d changes from the *_in_currency keys); the
    other keys go to metrics_details and the CoinGecko id to external_ids. Bad elements are
    rejected with their 1-based index; the good ones are stored.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"no such file: {path}")
    try:
        items = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path.name}: invalid JSON ({exc})") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ImportFormatError(f"{path.name}: expected a JSON list of CoinGecko /coins/markets objects")
    result, parsed = UpsertResult(), {}
    used = {"id", "symbol", *MARKET_FIELDS.values()}
    for index, item in enumerate(items, start=1):
        errors: dict[str, list[str]] = {}
        symbol = str(item.get("symbol") or "").strip().upper()
        if not symbol or len(symbol) > Asset._meta.get_field("symbol").max_length:
            errors["symbol"] = [f"missing or too long: {item.get('symbol')!r}"]
        if not item.get("name"):
            errors["name"] = ["required"]
        values = {name: _market_value(name, item.get(key), errors) for name, key in MARKET_FIELDS.items()}
        _market_errors(values, errors)
        if errors:
            result.rejected.append(Rejection(index, errors))
            continue
        values["metrics_details"] = _jsonable({k: v for k, v in item.items() if k not in used})
        values["coingecko_id"] = item.get("id")
        parsed[symbol] = values
    existing = Asset.objects.in_bulk(list(parsed), field_name="symbol")
    created, changed = [], []
    for symbol, values in parsed.items():
        coingecko_id = values.pop("coingecko_id")
        asset = existing.get(symbol) or Asset(symbol=symbol, asset_type="crypto")
        ids = {**(asset.external_ids or {}), **({"coingecko": coingecko_id} if coingecko_id else {})}
        values.update(external_ids=ids, data_source="coingecko")
        exact = connection.vendor != "sqlite"  # only SQLite stores decimals as doubles
        if asset.pk and all(
            stored_same(getattr(asset, name), value, exact=exact) for name, value in values.items()
        ):
            result.unchanged += 1
            continue
        for name, value in values.items():
            setattr(asset, name, value)
        asset.updated_at = timezone.now()  # bulk_update does not apply auto_now
        (changed if asset.pk else created).append(asset)
    with transaction.atomic():
        Asset.objects.bulk_create(created)
        Asset.objects.bulk_update(changed, [*ASSET_UPDATE_FIELDS, "updated_at"], batch_size=500)
    result.inserted, result.updated = len(created), len(changed)
    return result
