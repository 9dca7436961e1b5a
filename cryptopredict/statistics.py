"""Planner statistics, gathered after bulk writes."""

import queue
import threading
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, router

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
        tables_analyze([model._meta.db_table], using=router.db_for_write(model))


def tables_analyze(tables: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """ANALYZE each of `tables` (names) on the connection `using`."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


class BackgroundAnalyzer:
    """ANALYZE tables one after another in a thread with a connection of its own, while the caller
    goes on writing: an import's partitions are analysed as it leaves them, not all at its end.

    Only for tables whose rows are committed (the thread's connection sees nothing else).
    `close()` waits for the tables given so far and raises the first error met.
    """

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS):
        self.using = using
        self._tables: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def add(self, table: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="analyze", daemon=True)
            self._thread.start()
        self._tables.put(table)

    def _run(self) -> None:
        try:
            while (table := self._tables.get()) is not None:
                if self._error is not None:
                    continue  # drained until close(): the caller hears of the first error
                try:
                    tables_analyze([table], using=self.using)
                except Exception as error:
                    self._error = error
        finally:
            connections[self.using].close()  # this thread's own connection

    def close(self) -> None:
        if self._thread is None:
            return
        self._tables.put(None)
        self._thread.join()
        self._thread = None
        if self._error is not None:
            raise self._error
