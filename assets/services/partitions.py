"""The monthly partitions of the candle tables (PostgreSQL; SQLite keeps one table each).

price_data and price_data_archive are range-partitioned by candle_time, one partition per UTC
month, with a DEFAULT partition for candles of a month that has none (see migration
assets.0008). The daily task and `create_partitions` keep the coming months' partitions ready
and move what landed in a DEFAULT partition into its month's partition.
"""

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial

from django.db import connections, router, transaction
from django.utils import timezone

from ..models import PriceData, PriceDataArchive
from ..selectors import candle_partitions

MONTHS_AHEAD = 3
# Each monthly partition also states its month as a CHECK constraint: attaching it elsewhere (to
# the archive) then needs no scan of its rows to prove they belong there.
MONTH_CHECK = "partition_month"
PARTITIONED = (PriceData, PriceDataArchive)

# (table, month) of the partitions this process has seen committed: a batch of known months costs
# no query. Archiving forgets the months it takes from price_data (month_forget); another process's
# archive run is not seen, and rows of such a month land in the DEFAULT partition as before.
_known: set[tuple[str, datetime]] = set()


def month_start(moment: datetime) -> datetime:
    """Return the start of the UTC month holding `moment`."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_next(month: datetime) -> datetime:
    """Return the start of the month after the month starting at `month`."""
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition_name(model, month: datetime) -> str:
    return f"{model._meta.db_table}_p{month:%Y%m}"


def is_partitioned(model) -> bool:
    """Return whether `model`'s table is partitioned here (PostgreSQL after migration assets.0008)."""
    return bool(candle_partitions(model=model))


def months_of(times: Sequence[datetime]) -> list[datetime]:
    """Return the start of each UTC month that holds one of `times` (sorted, aware), oldest first."""
    if not times:
        return []
    months, month, last = [], month_start(times[0]), times[-1]
    while month <= last:
        following = month_next(month)
        index = bisect_left(times, month)
        if index < len(times) and times[index] < following:
            months.append(month)
        month = following
    return months


def month_partitions_ensure(*, model, months: Iterable[datetime]) -> list[str]:
    """Make sure `model`'s table has a partition for each of `months`; return the names created.

    Idempotent and safe beside other writers (month_partition_ensure takes turns); a month this
    process has seen committed costs nothing, the others one catalog query together. Not
    partitioned (SQLite): nothing to do.
    """
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    missing = sorted({month for month in months if (table, month) not in _known})
    if not missing or connection.vendor != "postgresql":
        return []
    present = {p.start for p in candle_partitions(model=model)}
    created = []
    for month in missing:
        if month not in present and (name := month_partition_ensure(model=model, month=month)):
            created.append(name)
        # Remembered once committed: a partition made in a transaction rolled back is gone again.
        transaction.on_commit(partial(_known.add, (table, month)), using=connection.alias)
    return created


def month_forget(*, model, month: datetime) -> None:
    """Forget that `model`'s table has a partition for `month` (it was detached or dropped)."""
    _known.discard((model._meta.db_table, month))


def table_columns(cursor, table: str) -> list[str]:
    """Return the names of `table`'s columns in their order."""
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def month_partition_ensure(*, model, month: datetime) -> str | None:
    """Create the partition of `model`'s table for `month` unless there is one; return its name if created.

    Candles of that month already in the DEFAULT partition move into the new partition in the
    same transaction (PostgreSQL refuses a partition whose rows the DEFAULT one holds).
    """
    connection = connections[router.db_for_write(model)]
    table, name = model._meta.db_table, partition_name(model, month)
    bounds = [month, month_next(month)]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Two creators of the same month (the task and the command) take turns.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [table])
        partitions = candle_partitions(model=model)
        if any(p.start == month for p in partitions):
            return None
        default = next((p.name for p in partitions if p.start is None), None)
        stray = False
        if default:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {default} WHERE candle_time >= %s AND candle_time < %s)",
                bounds,
            )
            [stray] = cursor.fetchone()
        if not stray:
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)", bounds)
            cursor.execute(_month_check(name), bounds)  # an empty table: nothing to scan
            return name
        columns = ", ".join(table_columns(cursor, table))
        cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(_month_check(name), bounds)
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE candle_time >= %s AND candle_time < %s"
            f" RETURNING {columns}) INSERT INTO {name} ({columns}) SELECT {columns} FROM moved",
            bounds,
        )
        # Attaching builds the partition's indexes and foreign key and checks its rows fit the month.
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", bounds)
    return name


def _month_check(table: str) -> str:
    return f"ALTER TABLE {table} ADD CONSTRAINT {MONTH_CHECK} CHECK (candle_time >= %s AND candle_time < %s)"


def default_months(*, model) -> list[datetime]:
    """Return the months of the candles in `model`'s DEFAULT partition."""
    default = next((p.name for p in candle_partitions(model=model) if p.start is None), None)
    if default is None:
        return []
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT date_trunc('month', candle_time AT TIME ZONE 'UTC') FROM {default}")
        return sorted(row[0].replace(tzinfo=UTC) for row in cursor.fetchall())


def candle_partitions_create(*, months_ahead: int = MONTHS_AHEAD, now: datetime | None = None) -> list[str]:
    """Create the candle tables' missing monthly partitions; return the names created.

    price_data gets this month's and the next `months_ahead` months'; both tables get one for each
    month with candles in their DEFAULT partition, which move into it. One transaction per
    partition; a rerun creates nothing. Not partitioned (SQLite): nothing to do.
    """
    if months_ahead < 0:
        raise ValueError("months_ahead must be 0 or more")
    created = []
    for model in PARTITIONED:
        if not is_partitioned(model):
            continue
        months = set(default_months(model=model))
        if model is PriceData:
            month = month_start(now or timezone.now())
            for _ in range(months_ahead + 1):
                months.add(month)
                month = month_next(month)
        for month in sorted(months):
            name = month_partition_ensure(model=model, month=month)
            if name:
                created.append(name)
    return created


# Like autovacuum's threshold for a plain table (autovacuum_analyze_scale_factor), which never
# analyses a partitioned table itself.
PARENT_CHANGE = 0.1


def parent_statistics_refresh(*, model, change: float = PARENT_CHANGE) -> bool:
    """ANALYZE `model`'s partitioned table when its partitions' rows (by their statistics) differ
    from the rows it was last analysed at by more than `change`, or it never was; return whether.

    The table's own statistics (the planner's estimates for joins and groupings over all of it)
    come only from ANALYZE of the table, which on PostgreSQL 15 analyses every partition as well
    (no ANALYZE ONLY before 18); imports analyse just the partitions they write, so the daily
    partition task runs this. Not partitioned: nothing to do.
    """
    if not is_partitioned(model):
        return False
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.reltuples, (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM"
            " pg_partition_tree(p.oid) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)"
            " FROM pg_class p WHERE p.oid = to_regclass(%s)",
            [table],
        )
        analysed, leaves = cursor.fetchone()
        if analysed >= 0 and abs(leaves - analysed) <= change * max(analysed, 1):
            return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True
