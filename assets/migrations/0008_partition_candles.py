"""Range-partition price_data and price_data_archive by candle_time, monthly (PostgreSQL only).

Written against the catalog, not a column list, so columns added to the candle tables by other
migrations come along: each table is rebuilt as `LIKE` itself `PARTITION BY RANGE (candle_time)`
with a partition per month holding rows (and, for price_data, the current month and the next
three), a DEFAULT partition for the rest, the rows copied, and its keys, foreign keys and indexes
recreated from the old table's definitions. A partitioned table's unique keys must contain the
partition key: the primary key becomes (id, candle_time); Django's pk stays `id`, unique because
every id comes from price_data's sequence (the archive's ids too, so a partition moved whole keeps
its ids without meeting another row's). SQLite keeps one table each.
"""

from datetime import UTC, datetime

from django.db import migrations

TABLES = ("price_data", "price_data_archive")
MONTHS_AHEAD = 3


def _months_ahead(count: int) -> list[datetime]:
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = []
    for _ in range(count + 1):
        months.append(month)
        month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    return months


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _rebuild(cursor, table: str, *, partitioned: bool, renumber=None) -> None:
    """Rebuild `table` as a partitioned table (or back as a plain one) with its rows and keys."""
    new = f"{table}_rebuild"
    partition_by = " PARTITION BY RANGE (candle_time)" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY"
        f" INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED){partition_by}"
    )
    if partitioned:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', candle_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM {table}"
        )
        months = {row[0] for row in cursor.fetchall()}
        if table == "price_data":
            months.update(_months_ahead(MONTHS_AHEAD))
        for month in sorted(months):
            name, bounds = f"{table}_p{month:%Y%m}", [month, _next_month(month)]
            cursor.execute(f"CREATE TABLE {name} PARTITION OF {new} FOR VALUES FROM (%s) TO (%s)", bounds)
            # The month as a CHECK too: attaching the partition elsewhere then scans no row.
            cursor.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT partition_month CHECK (candle_time >= %s AND candle_time < %s)",
                bounds,
            )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
    cursor.execute(f"INSERT INTO {new} SELECT * FROM {table}")
    if renumber:
        renumber(cursor, new)  # before the keys: no deferred foreign-key checks queued

    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'x') ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)",
        [table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    # No CASCADE: a view on the table must fail the migration, not vanish with the old table.
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    [sequence] = cursor.fetchone()
    if sequence:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq")
        cursor.execute(
            f"SELECT setval('{table}_id_seq', COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    for name, kind, definition in constraints:
        if kind == "p":
            definition = "PRIMARY KEY (id, candle_time)" if partitioned else "PRIMARY KEY (id)"
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        # pg_get_indexdef names the table schema-qualified: the new table bears the old name.
        cursor.execute(definition.replace(" ON ONLY ", " ON "))


def _share_ids(cursor, table: str) -> None:
    """Draw the archive's ids from price_data's sequence and renumber the archived rows."""
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id DROP IDENTITY")
    # New ids above every old one of either table: no row takes an id another still holds.
    cursor.execute(
        "SELECT setval('price_data_id_seq', GREATEST((SELECT max(id) FROM price_data),"
        f" (SELECT max(id) FROM {table}), 0) + 1, false)"
    )
    cursor.execute(f"UPDATE {table} SET id = nextval('price_data_id_seq')")
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('price_data_id_seq')")


def _own_ids(cursor) -> None:
    cursor.execute("ALTER TABLE price_data_archive ALTER COLUMN id DROP DEFAULT")
    cursor.execute("ALTER TABLE price_data_archive ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('price_data_archive', 'id'),"
        " COALESCE((SELECT max(id) FROM price_data_archive), 0) + 1, false)"
    )


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, "price_data", partitioned=True)
        _rebuild(cursor, "price_data_archive", partitioned=True, renumber=_share_ids)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _own_ids(cursor)
        for table in TABLES:
            _rebuild(cursor, table, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0007_indicator_columns"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
