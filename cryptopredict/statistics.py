"""Planner statistics, gathered after bulk writes."""

from django.db import connections, router

# Fewer changed rows than this are left to autovacuum's own ANALYZE.
BULK_ROWS = 10_000


def statistics_gather(*models, rows: int | None = None) -> None:
    """ANALYZE the tables of `models` after a bulk write of `rows` rows (None: always).

    The planner's estimates and the admin's estimated counts then see an import, an archive run
    or a deletion at once, not at the next autovacuum; its plans stay right after a big change.
    """
    if rows is not None and rows < BULK_ROWS:
        return
    for model in models:
        connection = connections[router.db_for_write(model)]
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
