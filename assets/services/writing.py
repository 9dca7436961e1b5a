"""Write candles: the one upsert of validated rows (COPY + merge on PostgreSQL, bulk_create elsewhere)."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from cryptopredict.aggregates import aggregates_refresh_soon
from cryptopredict.imports import Rejection
from cryptopredict.timeframes import timeframe_check

from ..candle_cache import candles_changed
from ..candle_columns import CANDLE_COLUMNS, VALUE_COLUMNS
from ..candle_writes import (
    POSITION,
    batch_write_orm,
    batch_write_postgres,
    copy_prefix,
    copy_text,
    prefetched,
    sorted_batch,
    write_retrying,
)
from ..importers import ImportFormatError, KlineChunk
from ..indicators import indicators_mark_stale, indicators_refresh
from ..models import INDICATOR_FIELDS, Asset, LatestCandle, PriceData
from ..signals import candles_written
from .partitions import month_partitions_ensure, months_of
from .results import Progress, UpsertResult
from .validation import (
    CAP_QUANTUM,
    _candle_fast,
    _candle_slow,
    _clean_values,
    _decimal,
    candle_errors,
    klines_clean,
)

BATCH_SIZE = 50_000
FIRST_BATCH = 5_000


def _clean_rows(
    rows: Iterable[Mapping], *, timeframe: str, rejected: list[Rejection]
) -> Iterator[tuple | list]:
    """Yield the rows that pass candle_parse as tuples (CANDLE_KEYS, position); collect the others.

    The position is the row's `line`, else its `index`, else its place in `rows`. A KlineChunk
    (read_candles(chunks=True)) is checked at once and yielded whole, as a list of its tuples, or
    row by row when one of its rows is not plainly good.
    """
    for index, row in enumerate(rows):
        if row.__class__ is KlineChunk:
            values = klines_clean(row.cells, row.lines, timeframe)
            if values is None:
                yield from _clean_rows(row.rows(), timeframe=timeframe, rejected=rejected)
            elif values:
                yield values
            continue
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


def _row_add(batch: dict, row: tuple, rejected: list[Rejection]) -> None:
    earlier = batch.pop(row[0], None)  # popped and re-added, so the batch keeps file order
    if earlier is not None:
        message = f"repeated at {row[POSITION]} with the same candle_time; the later row is kept"
        rejected.append(Rejection(earlier[POSITION], {"candle_time": [message]}))
    batch[row[0]] = row


def batch_sizes(size: int) -> Iterator[int]:
    """Yield the sizes of an upsert's batches: FIRST_BATCH rows, twice as many each time up to
    `size`, then `size`.

    With read-ahead the database starts on a small first batch while the next is parsed; as
    parsing is more than twice as fast as writing, each batch is ready before its predecessor
    is written, so the database never waits (one jump from 5,000 to 50,000 rows left it idle
    for the parse of the second batch, 0.45 s).
    """
    full = min(size, FIRST_BATCH)
    while True:
        yield full
        full = min(size, full * 2)


def _batches(rows: Iterator[tuple | list], *, size: int, rejected: list[Rejection]) -> Iterator[dict]:
    """Yield dicts candle_time -> row of up to `size` rows (batch_sizes); a repeated time keeps
    the last row.

    The first batches are small, so that the database starts writing while the rest is read
    (with read-ahead): an import's time is then its database's plus one small batch. A chunk
    (a list of rows) whose times are all new joins the batch at once, not row by row.
    """
    batch: dict[datetime, tuple] = {}
    sizes = batch_sizes(size)
    full = next(sizes)
    try:
        for row in rows:
            if row.__class__ is not list:
                _row_add(batch, row, rejected)
                if len(batch) >= full:
                    yield batch
                    batch, full = {}, next(sizes)
                continue
            while row:
                room = full - len(batch)
                piece, row = row[:room], row[room:]
                times = list(map(itemgetter(0), piece))
                if len(set(times)) == len(times) and batch.keys().isdisjoint(times):
                    batch.update(zip(times, piece, strict=True))
                else:  # a repeated time: rejected with its line, as row by row
                    for one in piece:
                        _row_add(batch, one, rejected)
                if len(batch) >= full:
                    yield batch
                    batch, full = {}, next(sizes)
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
    price_points: bool = False,
    indicators: bool = True,
    rejected=None,
    partitions: bool = False,
    on_written: Callable[[list[datetime], int], None] | None = None,
) -> UpsertResult:
    """Validate and upsert candles of one asset and timeframe; return what was inserted, updated,
    left unchanged and rejected (with each row's `line`, else `index`, else position).

    `price_points` marks the candles as price points (one price a period, no traded range). A
    candle whose values change loses its indicators and its validation; each batch notes its
    time range on the series' indicator watermark, and with `indicators` (the default) the
    indicators of the written candles and of the later ones that depend on them are computed
    at the end (assets.indicators.indicators_refresh). `indicators=False` is for bulk loads:
    the watermark keeps what compute_indicators has to do.

    Rejections go to `rejected` (anything with `append`, e.g. a RejectLog), else to a list.

    Good rows are stored even when others are rejected; each batch is one transaction, written in
    candle-time order and retried on a deadlock or serialization failure. On
    PostgreSQL the rows are COPied into a staging table and merged with one INSERT ... ON CONFLICT
    per batch that rewrites only candles whose values differ; elsewhere (or with
    method="bulk_create") bulk_create(update_conflicts=True) writes the new and changed ones.

    `read_ahead=True` parses the next batch in a thread while the database writes the current
    one; only for `rows` that do not touch the database (a file, not a queryset).

    `partitions=True` makes the month partitions of each batch's months before writing it (an
    import of old candles then lands in its months, not in the DEFAULT partition).
    `on_written(months, rows)` is called after each batch's transaction with the months the batch
    holds and the candles it inserted or updated.
    """
    timeframe_check(timeframe)
    result = UpsertResult() if rejected is None else UpsertResult(rejected=rejected)
    clean = _clean_rows(rows, timeframe=timeframe, rejected=result.rejected)
    copy = method == "copy" or (method == "auto" and connection.vendor == "postgresql")
    write = batch_write_postgres if copy else batch_write_orm
    # The COPY text is built with the batch, so that read-ahead does all of the Python work.
    prefix = copy_prefix(asset, timeframe, price_points=price_points)
    monthly = partitions or on_written is not None

    def prepared() -> Iterator[tuple[dict, bytes | None, list[datetime]]]:
        for batch in _batches(clean, size=batch_size, rejected=result.rejected):
            batch = sorted_batch(batch)  # one lock order for every writer: no deadlocks
            if on_batch is not None:
                on_batch(batch)
            months = months_of(list(batch)) if monthly else []
            yield batch, copy_text(batch.values(), prefix) if copy else None, months

    def write_batch(*, batch: dict, text: bytes | None, fresh: bool) -> tuple[int, int]:
        # One transaction (write_retrying's): the candles and the indicator watermark together.
        inserted, updated = write(
            asset=asset, timeframe=timeframe, batch=batch, text=text, price_points=price_points, fresh=fresh
        )
        if inserted or updated:
            indicators_mark_stale(asset_id=asset.pk, timeframe=timeframe, start=min(batch), end=max(batch))
            # Inside the batch's transaction: what listeners write commits with the candles.
            candles_written.send(
                sender=Asset, asset_id=asset.pk, timeframe=timeframe, first=min(batch), last=max(batch)
            )
        return inserted, updated

    fresh = False  # whether the last batch was all new candles: the next one most likely is too
    for batch, text, months in prefetched(prepared()) if read_ahead else prepared():
        if partitions:  # in a transaction of its own, before the batch's (which it would lock)
            month_partitions_ensure(model=PriceData, months=months)
        inserted, updated = write_retrying(write_batch, batch=batch, text=text, fresh=fresh)
        fresh = inserted == len(batch)
        if on_written is not None:
            on_written(months, inserted + updated)
        result.inserted += inserted
        result.updated += updated
        result.unchanged += len(batch) - inserted - updated
        if progress is not None:
            progress.update(len(batch))
    if result.inserted or result.updated:
        candles_changed(asset_id=asset.pk)
        if indicators:
            result.indicators = indicators_refresh(asset_id=asset.pk, timeframe=timeframe)
        # Last: without a broker the refresh runs here, and the indicator writes come first.
        aggregates_refresh_soon(views=[LatestCandle.VIEW])
    return result


# --- One candle (the API's price-data/{id}/ and the admin's candle form) ------------------------

IDENTITY = ("asset", "timeframe", "candle_time")
# The columns that hold what the source said; a change to one of them makes derived values stale.
SOURCE_FIELDS = (*VALUE_COLUMNS.values(), "is_price_point")


def _candle_check(values: Mapping) -> None:
    """Raise a ValidationError naming the column, as the import would reject the row."""
    row = {key: values.get(column) for key, column in CANDLE_COLUMNS.items()}
    errors = candle_errors(row, timeframe=values.get("timeframe"))
    if errors:
        raise ValidationError({CANDLE_COLUMNS.get(key, key): messages for key, messages in errors.items()})


def _written(*, asset_id: int, timeframe: str, candle_time: datetime) -> None:
    """Note a written (or deleted) candle on the series' watermark and refresh the series' indicators.

    In the write's transaction, so the candle and the indicators that follow from it commit together.
    """
    indicators_mark_stale(asset_id=asset_id, timeframe=timeframe, start=candle_time, end=candle_time)
    candles_written.send(
        sender=Asset, asset_id=asset_id, timeframe=timeframe, first=candle_time, last=candle_time
    )
    candles_changed(asset_id=asset_id)
    aggregates_refresh_soon(views=[LatestCandle.VIEW])
    indicators_refresh(asset_id=asset_id, timeframe=timeframe)


@transaction.atomic
def candle_create(*, asset: Asset, timeframe: str, candle_time: datetime, **values) -> PriceData:
    """Create one candle, checked as an imported row; its indicators and the later ones follow.

    `values` are PriceData columns (open_price ... market_cap, is_price_point, is_validated).
    """
    unknown = sorted(set(values) - {*SOURCE_FIELDS, "is_validated"})
    if unknown:
        raise ValidationError({name: "Not a column a candle write sets." for name in unknown})
    _candle_check({"timeframe": timeframe, "candle_time": candle_time, **values})
    if PriceData.objects.series(asset, timeframe).filter(candle_time=candle_time).exists():
        at = f"{candle_time:%Y-%m-%d %H:%M}"
        raise ValidationError({"candle_time": f"{asset.symbol} has a {timeframe} candle at {at} already."})
    candle = PriceData.objects.create(asset=asset, timeframe=timeframe, candle_time=candle_time, **values)
    _written(asset_id=asset.pk, timeframe=timeframe, candle_time=candle_time)
    candle.refresh_from_db(fields=INDICATOR_FIELDS)
    return candle


@transaction.atomic
def candle_update(*, candle: PriceData, changes: Mapping) -> PriceData:
    """Change one candle's values, checked as an imported row; return it as stored.

    When a source value changes (prices, volume, market cap, vwap, trades, is_price_point) the
    candle loses its validation and its indicators, and they and the later candles' are
    computed again; setting only is_validated changes just that.
    The asset, timeframe and time of a candle are its identity: they cannot change.
    """
    moved = [name for name in IDENTITY if name in changes and changes[name] != getattr(candle, name)]
    if moved:
        raise ValidationError(
            {
                name: "A candle's asset, timeframe and time cannot change: delete it and create another."
                for name in moved
            }
        )
    unknown = sorted(set(changes) - {*IDENTITY, *SOURCE_FIELDS, "is_validated"})
    if unknown:
        raise ValidationError({name: "Not a column a candle write sets." for name in unknown})
    candle = PriceData.objects.select_for_update().get(pk=candle.pk)
    merged = {name: getattr(candle, name) for name in (*IDENTITY, *SOURCE_FIELDS)} | dict(changes)
    _candle_check(merged)
    changed = [name for name in SOURCE_FIELDS if name in changes and changes[name] != getattr(candle, name)]
    for name in changed:
        setattr(candle, name, changes[name])
    if changed:
        candle.indicators_clear()
        candle.is_validated = False
        candle.save()
        _written(asset_id=candle.asset_id, timeframe=candle.timeframe, candle_time=candle.candle_time)
        candle.refresh_from_db(fields=INDICATOR_FIELDS)
    elif "is_validated" in changes and changes["is_validated"] != candle.is_validated:
        candle.is_validated = changes["is_validated"]
        candle.save(update_fields=["is_validated", "updated_at"])
    return candle


@transaction.atomic
def candle_delete(*, candle: PriceData) -> None:
    """Delete one candle; the indicators of the later candles are computed again without it."""
    candles_delete(candles=PriceData.objects.filter(pk=candle.pk))


@transaction.atomic
def candles_delete(*, candles: QuerySet[PriceData]) -> int:
    """Delete candles and return how many; each series' indicators are computed again without them."""
    spans = list(
        candles.order_by()
        .values("asset_id", "timeframe")
        .annotate(start=Min("candle_time"), end=Max("candle_time"))
    )
    deleted = candles.delete()[1].get(PriceData._meta.label, 0)
    for span in spans:
        indicators_mark_stale(
            asset_id=span["asset_id"], timeframe=span["timeframe"], start=span["start"], end=span["end"]
        )
        candles_changed(asset_id=span["asset_id"])
        aggregates_refresh_soon(views=[LatestCandle.VIEW])
        indicators_refresh(asset_id=span["asset_id"], timeframe=span["timeframe"])
    return deleted


def candles_market_caps_set(*, asset: Asset, timeframe: str, caps: Mapping[datetime, object]) -> int:
    """Set the market cap of the stored candles of `asset` opening at the times of `caps`; return how
    many candles were found. Candles are not created: a cap without its candle is left out.

    A changed cap is a changed source value, as in candles_upsert: the candle loses its validation
    and indicators, and the series' indicators are refreshed.
    """
    timeframe_check(timeframe)
    candles = list(PriceData.objects.series(asset, timeframe).filter(candle_time__in=list(caps)))
    changed, now = [], timezone.now()
    for candle in candles:
        value, error = _decimal(caps[candle.candle_time], quantum=CAP_QUANTUM, max_digits=30, positive=False)
        if error is None and candle.market_cap != value:
            candle.market_cap, candle.updated_at = value, now
            candle.indicators_clear()
            candle.is_validated = False
            changed.append(candle)
    if changed:
        with transaction.atomic():
            fields = ["market_cap", *INDICATOR_FIELDS, "is_validated", "updated_at"]
            PriceData.objects.bulk_update(changed, fields, batch_size=1000)
            times = [candle.candle_time for candle in changed]
            indicators_mark_stale(asset_id=asset.pk, timeframe=timeframe, start=min(times), end=max(times))
            candles_changed(asset_id=asset.pk)
            aggregates_refresh_soon(views=[LatestCandle.VIEW])
            indicators_refresh(asset_id=asset.pk, timeframe=timeframe)
    return len(candles)
