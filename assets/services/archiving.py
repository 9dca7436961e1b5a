"""Move old candles to price_data_archive: whole monthly partitions where they can, else in batches."""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from cryptopredict.statistics import statistics_gather
from cryptopredict.timeframes import timeframe_check

from ..models import PriceData, PriceDataArchive
from ..selectors import CandlePartition, candle_partitions
from .partitions import MONTH_CHECK, month_forget, month_partition_ensure, partition_name, table_columns
from .results import Progress

UNIQUE = ("asset_id", "timeframe", "candle_time")
# Detaching a partition locks price_data for reads and writes until the transaction ends: wait
# this long behind a running query, then fail (the task retries) rather than queue everyone.
LOCK_TIMEOUT = "30s"


def archive_columns() -> list[str]:
    """Return the columns a candle carries into the archive (not its id, not archived_at)."""
    archive = {f.column for f in PriceDataArchive._meta.concrete_fields}
    return [f.column for f in PriceData._meta.concrete_fields if f.column in archive and not f.primary_key]


def _archive_sql(columns: list[str], source: str, where: str) -> str:
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in UNIQUE)
    # The candle being archived is the newest version: it replaces an older archived copy.
    return (
        f"INSERT INTO price_data_archive ({names}) SELECT {names} FROM {source} {where} "
        f"ON CONFLICT ({', '.join(UNIQUE)}) DO UPDATE SET {updates}"
    )


def candles_archive(
    *,
    older_than: timedelta,
    timeframe: str | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> int:
    """Move candles that opened more than `older_than` ago to price_data_archive; return how many.

    On PostgreSQL a monthly partition entirely older than the cut-off moves whole, in one
    transaction: detached from price_data and attached to the archive (or, when the archive
    already holds candles of that month, copied in one statement and dropped). The rest (the
    month the cut-off falls in, a DEFAULT partition's candles, one timeframe only) moves in
    batches, one transaction each. A crash loses nothing and a rerun finishes the job.
    """
    if timeframe is not None:
        timeframe_check(timeframe)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = timezone.now() - older_than
    candles = PriceData.objects.filter(candle_time__lt=cutoff)
    if timeframe:
        candles = candles.filter(timeframe=timeframe)
    if progress is not None:
        progress.total = candles.count()
    moved = 0
    partitions = candle_partitions(model=PriceData)
    if timeframe is None:  # a partition holds every timeframe of its month
        for partition in partitions:
            if partition.end is not None and partition.end <= cutoff:
                count = _partition_archive(partition)
                moved += count
                if progress is not None:
                    progress.update(count)
    # The batches' months get their archive partitions first, so their candles do not pile up in
    # the archive's DEFAULT partition.
    for partition in candle_partitions(model=PriceData):
        if partition.start is not None and partition.start < cutoff:
            month_partition_ensure(model=PriceDataArchive, month=partition.start)
    batched = _batches_archive(candles, cutoff, batch_size, progress)
    if batched:
        # A partition moved whole takes its statistics along: only rows moved one by one need ANALYZE.
        statistics_gather(PriceData, PriceDataArchive)
    return moved + batched


def _batches_archive(candles, cutoff, batch_size: int, progress: Progress | None) -> int:
    """Move `candles` in batches of `batch_size`, each one transaction (copy, then delete the same ids)."""
    # The cut-off in every statement lets PostgreSQL skip the partitions after it.
    columns = archive_columns()
    moved = 0
    while True:
        with transaction.atomic():
            ids = list(candles.order_by("pk").select_for_update().values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            where = f"WHERE candle_time < %s AND id IN ({', '.join(['%s'] * len(ids))})"
            with connection.cursor() as cursor:
                cursor.execute(_archive_sql(columns, "price_data", where), [cutoff, *ids])
            candles.filter(pk__in=ids).delete()
        moved += len(ids)
        if progress is not None:
            progress.update(len(ids))
    return moved


def _partition_archive(partition: CandlePartition) -> int:
    """Move one price_data partition into the archive in one transaction; return its candles."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(f"ALTER TABLE price_data DETACH PARTITION {partition.name}")
        month_forget(model=PriceData, month=partition.start)
        cursor.execute(f"SELECT count(*) FROM {partition.name}")
        [count] = cursor.fetchone()
        if not (count and _partition_attach(cursor, partition)):
            if count:
                month_partition_ensure(model=PriceDataArchive, month=partition.start)
                cursor.execute(_archive_sql(archive_columns(), partition.name, ""))
            cursor.execute(f"DROP TABLE {partition.name}")
    return count


def _partition_attach(cursor, partition: CandlePartition) -> bool:
    """Attach a detached price_data partition to the archive as its month; False if it cannot be.

    It can when the archive holds no candle of that month (an empty archive partition of the
    month is dropped for it) and every column of the partition is one of the archive's.
    """
    archive = PriceDataArchive._meta.db_table
    bounds = [partition.start, partition.end]
    existing = next(
        (p for p in candle_partitions(model=PriceDataArchive) if p.start == partition.start), None
    )
    default = next((p for p in candle_partitions(model=PriceDataArchive) if p.start is None), None)
    if existing is not None:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {existing.name})")
        if cursor.fetchone()[0]:
            return False
    if default is not None:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {default.name} WHERE candle_time >= %s AND candle_time < %s)",
            bounds,
        )
        if cursor.fetchone()[0]:
            return False
    if not set(table_columns(cursor, partition.name)) <= set(table_columns(cursor, archive)):
        return False
    if existing is not None:
        cursor.execute(f"DROP TABLE {existing.name}")
    _conform(cursor, partition.name, archive)
    cursor.execute(
        f"ALTER TABLE {archive} ATTACH PARTITION {partition.name} FOR VALUES FROM (%s) TO (%s)", bounds
    )
    cursor.execute(
        f"ALTER TABLE {partition.name} RENAME TO {partition_name(PriceDataArchive, partition.start)}"
    )
    # price_data's own indexes (timeframe and time, volume) serve no query of the archive.
    renamed = partition_name(PriceDataArchive, partition.start)
    cursor.execute(
        "SELECT indexrelid::regclass::text FROM pg_index i WHERE indrelid = %s::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [renamed],
    )
    for [index] in cursor.fetchall():
        cursor.execute(f"DROP INDEX {index}")
    return True


def _conform(cursor, table: str, archive: str) -> None:
    """Give a detached price_data partition the archive's extra columns and its checks' names."""
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid),"
        " a.attnotnull FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        [archive],
    )
    wanted_columns = cursor.fetchall()
    present = set(table_columns(cursor, table))
    for name, kind, default, not_null in wanted_columns:
        if name in present:
            continue
        # archived_at: a stable default (statement_timestamp()) is stored once, not written per row.
        clause = f" DEFAULT {default}" if default else ""
        cursor.execute(
            f"ALTER TABLE {table} ADD COLUMN {name} {kind}{clause}{' NOT NULL' if not_null else ''}"
        )
    checks = (
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'c'"
    )
    cursor.execute(checks, [archive])
    wanted = dict(cursor.fetchall())
    cursor.execute(checks, [table])
    have = {definition: name for name, definition in cursor.fetchall()}
    for name, definition in wanted.items():
        current = have.pop(definition, None)
        if current is None:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        elif current != name:
            # The same rule under price_data's name: renamed, so attaching checks no row again.
            cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {current} TO {name}")
    for name in have.values():
        if name != MONTH_CHECK:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
