"""Celery tasks of the project itself: the refresh of the aggregate views."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .aggregates import aggregates_pending_clear, aggregates_refresh


@shared_task(
    name="cryptopredict.refresh_aggregates",
    soft_time_limit=600,
    time_limit=900,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def refresh_aggregates(views: list[str] | None = None) -> list[str]:
    """Refresh the named aggregate views (all when None); return those refreshed."""
    if views is not None:
        aggregates_pending_clear(views=views)
    return aggregates_refresh(views=views)
