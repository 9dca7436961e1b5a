"""The monthly partitions of the candle tables (PostgreSQL; SQLite keeps one table each).

price_data and price_data_archive are range-partitioned by candle_time, one partition per UTC
month, with a DEFAULT partition for candles of a month that has none (see migration
assets.0008). The daily task and `create_partitions` keep the coming months' partitions ready
and move what landed in a DEFAULT partition into its month's partition.
"""

from datetime import UTC, datetime

from django.db import connections, router, transaction
from django.utils import timezone

from ..models import PriceData, PriceDataArchive
from ..selectors import candle_partitions

MONTHS_AHEAD = 3
# Each monthly partition also states its month as a CHECK constraint: attaching it elsewhere (to
# the archive) then needs no scan of its rows to prove they belong there.
MONTH_CHECK = "partition_month"
PARTITIONED = (PriceData, PriceDataArchive)


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
