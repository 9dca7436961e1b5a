"""How candle batches reach the database: the PostgreSQL COPY paths, the ORM path, read-ahead.

Private machinery of `assets.services.writing.candles_upsert`; a batch is a dict candle_time -> tuple of
the clean values (candle_columns.CANDLE_KEYS) followed by the row's position.
"""

import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import is_

import psycopg
from django.db import connection, transaction

from .candle_columns import CANDLE_COLUMNS, OHLCV_COLUMNS, OPTIONAL_COLUMNS, VALUE_COLUMNS
from .models import INDICATOR_FIELDS, Asset, PriceData

POSITION = 9  # the tuple index of a row's position, after its nine values
TEXT = POSITION + 1  # where a row may carry its COPY line, made with its values (klines_clean)


def prefetched(items: Iterator) -> Iterator:
    """Yield the items of `items`, each computed in a thread while the caller uses the previous one."""
    channel: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as exc:  # handed to the caller's thread
            put((end, exc))

    worker = threading.Thread(target=produce, name="candle-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = channel.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        worker.join()


STAGE_COLUMNS = tuple(CANDLE_COLUMNS.values())
# The COPY text carries every column price_data needs, so that it fits the table and the stage.
COPY_COLUMNS = ", ".join(("asset_id", "timeframe", "is_validated", "is_price_point", *STAGE_COLUMNS))
STAGE_CREATE = """
CREATE TEMPORARY TABLE IF NOT EXISTS candle_stage (
    asset_id bigint NOT NULL, timeframe varchar(3) NOT NULL, is_validated boolean NOT NULL,
    is_price_point boolean NOT NULL, candle_time timestamptz NOT NULL,
    open_price numeric NOT NULL, high_price numeric NOT NULL, low_price numeric NOT NULL,
    close_price numeric NOT NULL, volume numeric NOT NULL, trade_count integer, vwap numeric,
    market_cap numeric
)
"""
# Optional values a source lacks do not erase what an earlier import stored.
MERGE_VALUES = {
    **{column: f"EXCLUDED.{column}" for column in OHLCV_COLUMNS},
    **{column: f"COALESCE(EXCLUDED.{column}, p.{column})" for column in OPTIONAL_COLUMNS},
    "is_price_point": "EXCLUDED.is_price_point",
}


# A candle whose values change loses what was derived from the old ones: its indicators are
# emptied (the indicator refresh that follows the write computes them again, with the later
# candles that depend on them) and it must be validated again.
RESET_ON_CHANGE = ", ".join([*(f"{name} = NULL" for name in INDICATOR_FIELDS), "is_validated = false"])


def _merge_sql() -> str:
    # A row this statement inserted has its default created_at, this statement's time; an updated
    # one keeps an earlier one. (`xmax = 0` says the same but is refused on partitioned tables.)
    updates = ", ".join(f"{key} = {value}" for key, value in MERGE_VALUES.items())
    before = ", ".join(f"p.{key}" for key in MERGE_VALUES)
    after = ", ".join(MERGE_VALUES.values())
    return f"""
WITH written AS (
    INSERT INTO price_data AS p ({COPY_COLUMNS})
    SELECT {COPY_COLUMNS} FROM candle_stage ORDER BY candle_time
    ON CONFLICT (asset_id, timeframe, candle_time)
    DO UPDATE SET {updates}, {RESET_ON_CHANGE}, updated_at = now()
    WHERE ({before}) IS DISTINCT FROM ({after})
    RETURNING (p.created_at = statement_timestamp()) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""


MERGE_SQL = _merge_sql()
NULL = "\\N"


def copy_prefix(asset: Asset, timeframe: str, *, price_points: bool = False) -> str:
    return f"{asset.pk}\t{timeframe}\tf\t{'t' if price_points else 'f'}\t"


def _texts(values: tuple) -> Iterable[str]:
    """Return the COPY text of each value of a column (NULL for None)."""
    # By identity: `None in values` compares each Decimal with None, and a Decimal compared with
    # what is no Decimal asks the numbers ABCs (isinstance), a second per value of the column.
    if not any(map(is_, values, repeat(None))):
        return map(str, values)
    return [NULL if value is None else str(value) for value in values]


def copy_lines(stamps: Iterable[str], columns: Iterable[tuple]) -> list[str]:
    """Return the COPY lines (without copy_prefix) of rows given column by column: the candle
    times as texts (datetime.isoformat's), then the columns of CANDLE_KEYS after it as values or
    as their texts already."""
    return list(map("\t".join, zip(stamps, *map(_texts, columns), strict=True)))


def copy_text(rows: Iterable[tuple], prefix: str) -> bytes:
    """Return rows as COPY text of COPY_COLUMNS (tab-separated, \\N for NULL); numbers and times
    need no escaping. A row that carries its line (at TEXT, from klines_clean) gives it as is; the
    others are built column by column (maps in C), not with Python code per row."""
    rows = list(rows)
    if not rows:
        return b""
    lines = [row[TEXT] if len(row) > TEXT else None for row in rows]
    if None in lines:
        bare = [row for row in rows if len(row) <= TEXT]
        times, *columns = list(zip(*bare, strict=True))[:POSITION]
        made = iter(copy_lines(map(datetime.isoformat, times), columns))
        lines = [next(made) if line is None else line for line in lines]
    return (prefix + f"\n{prefix}".join(lines) + "\n").encode()


# Writers lock candles in one order (by time: see sorted_batch and MERGE_SQL), so two of them
# cannot wait on each other; what is left (a deadlock with another kind of writer, a serialization
# failure) is retried a few times after a random pause, then raised.
RETRY_ATTEMPTS = 5
RETRY_PAUSE = 0.05  # seconds; doubled on each attempt, then jittered


def sorted_batch(batch: dict) -> dict:
    """Return the batch ordered by candle time, the order in which every writer locks rows."""
    return dict(sorted(batch.items()))


def transient(error: BaseException) -> bool:
    """Return whether a database error is a deadlock or serialization failure (SQLSTATE 40xxx),
    raised by psycopg directly or wrapped by Django."""
    return any(
        isinstance(cause, psycopg.Error) and (cause.sqlstate or "").startswith("40")
        for cause in (error, error.__cause__)
    )


def write_retrying(write, **kwargs):
    """Run `write(**kwargs)` in a transaction (a savepoint inside one), again on a transient error."""
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return write(**kwargs)
        except Exception as error:
            if attempt == RETRY_ATTEMPTS or not transient(error):
                raise
        time.sleep(random.uniform(0, RETRY_PAUSE * 2**attempt))
    raise AssertionError("unreachable")


def batch_write_postgres(
    *, asset: Asset, timeframe: str, batch: dict, text: bytes, price_points: bool = False, fresh: bool = False
) -> tuple[int, int]:
    """Write one batch; return (inserted, updated). `price_points` is in the COPY text already.

    The batch is COPied into the session's staging table and merged with one INSERT ... ON
    CONFLICT DO UPDATE that rewrites only the candles whose values differ. When no candle of the
    asset and timeframe lies in the batch's time range (a first import), it is COPied straight
    into price_data instead, which is as fast as PostgreSQL loads data. `fresh` (the batch
    before was all new) tries that COPY without looking first: a candle that exists makes it
    fail, written nothing, and the merge follows.
    """
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        if not fresh:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM price_data WHERE asset_id = %s AND timeframe = %s "
                "AND candle_time BETWEEN %s AND %s)",
                (asset.pk, timeframe, min(batch), max(batch)),
            )
            fresh = not cursor.fetchone()[0]
        if fresh and copy_direct(cursor, text):
            return len(batch), 0
        cursor.execute(STAGE_CREATE)
        cursor.execute("TRUNCATE candle_stage")
        with cursor.copy(f"COPY candle_stage ({COPY_COLUMNS}) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(MERGE_SQL)
        inserted, updated = cursor.fetchone()
    return inserted, updated


def copy_direct(cursor, text: bytes) -> bool:
    """COPY rows straight into price_data; return False, having written nothing, when one of them
    exists already (a writer that got there since the range was found empty)."""
    try:
        # Django's savepoint, not psycopg's transaction(): with no statement run yet in the batch's
        # transaction, psycopg's would open and commit a transaction of its own, apart from the
        # batch's watermark and listeners.
        with (
            transaction.atomic(),
            cursor.copy(f"COPY price_data ({COPY_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(text)
    except psycopg.errors.UniqueViolation:
        return False
    return True


# Databases without a decimal type (SQLite) keep doubles: equal within what a double holds.
STORED_TOLERANCE = Decimal("1e-13")


def stored_same(stored, new, *, exact: bool) -> bool:
    """Return whether a stored value equals a new one (within a double's precision unless `exact`)."""
    if not exact and isinstance(stored, Decimal) and isinstance(new, Decimal):
        return stored == new or abs(stored - new) <= abs(new) * STORED_TOLERANCE
    return stored == new


def batch_write_orm(
    *, asset: Asset, timeframe: str, batch: dict, text=None, price_points: bool = False, fresh: bool = False
) -> tuple[int, int]:
    """Upsert one batch with bulk_create(update_conflicts=True), skipping unchanged candles
    (`fresh` is batch_write_postgres's hint: the unchanged ones are found by reading anyway)."""
    fields = [*VALUE_COLUMNS.values(), "is_price_point"]
    existing = {
        values[0]: values[1:]
        for values in PriceData.objects.series(asset, timeframe)
        .filter(candle_time__in=list(batch))
        .values_list("candle_time", *fields)
    }
    changed, inserted = [], 0
    exact = connection.vendor != "sqlite"  # only SQLite stores decimals as doubles
    for row in batch.values():
        values = dict(zip(VALUE_COLUMNS.values(), row[1:POSITION], strict=True))
        values["is_price_point"] = price_points
        stored = existing.get(row[0])
        if stored is not None:
            for key, position in (("trade_count", 5), ("vwap", 6), ("market_cap", 7)):
                if values[key] is None:
                    values[key] = stored[position]
            if all(stored_same(a, b, exact=exact) for a, b in zip(stored, values.values(), strict=True)):
                continue
        else:
            inserted += 1
        changed.append(PriceData(asset=asset, timeframe=timeframe, candle_time=row[0], **values))
    PriceData.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["asset", "timeframe", "candle_time"],
        # New objects carry empty indicators and is_validated False: see RESET_ON_CHANGE.
        update_fields=[*fields, *INDICATOR_FIELDS, "is_validated", "updated_at"],
        batch_size=1000,
    )
    return inserted, len(changed) - inserted
