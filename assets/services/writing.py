"""Write candles: the one upsert of validated rows (COPY + merge on PostgreSQL, bulk_create elsewhere)."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime

from django.db import connection, transaction

from cryptopredict.choices import Timeframe

from ..candle_cache import candles_changed
from ..candle_writes import (
    POSITION,
    batch_write_orm,
    batch_write_postgres,
    copy_prefix,
    copy_text,
    prefetched,
)
from ..importers import ImportFormatError
from ..models import Asset
from .results import Progress, Rejection, UpsertResult
from .validation import _candle_fast, _candle_slow, _clean_values

BATCH_SIZE = 50_000


def _check_timeframe(timeframe: str) -> None:
    if timeframe not in Timeframe.values:
        raise ValueError(f"unknown timeframe {timeframe!r}; use one of {', '.join(Timeframe.values)}")


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
