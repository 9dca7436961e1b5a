"""Aggregations kept as materialized views on PostgreSQL (plain views elsewhere), and their refresh.

Each app creates its views in its migrations and reads them through an unmanaged model, so the
selectors are the same on every database. A write that changes what a view summarises asks for
a refresh after its commit (`aggregates_refresh_soon`); the refresh runs once per debounce
window in the `cryptopredict.refresh_aggregates` task, whatever the number of writes.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

PENDING_KEY = "aggregates:pending:{}"


def materialized_views() -> list[str]:
    """Return the names of the materialized views of the current schema (none off PostgreSQL)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT matviewname FROM pg_matviews WHERE schemaname = current_schema() ORDER BY matviewname"
        )
        return [name for (name,) in cursor.fetchall()]


def aggregates_refresh(*, views: list[str] | None = None) -> list[str]:
    """Refresh the named materialized views (all when None) concurrently; return those refreshed.

    CONCURRENTLY (each view has a unique index for it) lets readers go on reading the previous
    contents meanwhile. Off PostgreSQL the views are plain views, always current: nothing to do.
    An unknown name is a ValueError naming it.
    """
    known = materialized_views()
    if views is None:
        views = known
    unknown = sorted(set(views) - set(known))
    if unknown and connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        raise ValueError(f"no materialized view {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
    connection = connections[DEFAULT_DB_ALIAS]
    refreshed = []
    for view in views if connection.vendor == "postgresql" else []:
        with connection.cursor() as cursor:
            cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {connection.ops.quote_name(view)}")
        refreshed.append(view)
    return refreshed


def aggregates_refresh_soon(*, views: list[str]) -> None:
    """Have the named views refreshed once, AGGREGATES_REFRESH_DELAY seconds after this transaction
    commits; later requests for a view already pending join that refresh (the debounce).

    The pending mark is dropped by the task before it refreshes, so a write that commits during a
    refresh asks for the next one. Without a broker the task runs at the commit, in-process.
    """
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return

    def request() -> None:
        from .tasks import refresh_aggregates

        delay = settings.AGGREGATES_REFRESH_DELAY
        # The mark outlives the countdown, so a task held up in the queue still covers these writes.
        due = [view for view in views if cache.add(PENDING_KEY.format(view), 1, timeout=delay + 600)]
        if not due:
            return
        try:
            refresh_aggregates.apply_async(kwargs={"views": due}, countdown=delay)
        except Exception:  # a broker that is down: the hourly refresh (beat) catches up
            aggregates_pending_clear(views=due)
            logger.warning("refresh of %s not queued: the broker is unreachable", ", ".join(due))

    # After the commit: the refresh must see the rows, and the write never waits for it.
    transaction.on_commit(request)


def aggregates_pending_clear(*, views: list[str]) -> None:
    """Drop the pending marks of `views` (the task does this right before it refreshes them)."""
    cache.delete_many([PENDING_KEY.format(view) for view in views])
