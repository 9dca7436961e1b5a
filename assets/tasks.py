"""Celery tasks: thin wrappers around assets' services."""

from celery import shared_task

from .services.deletion import asset_deletion_run
from .services.partitions import (
    MONTHS_AHEAD,
    PARTITIONED,
    candle_partitions_create,
    parent_statistics_refresh,
)


@shared_task(name="assets.delete_asset")
def asset_deletion_task(deletion_id: int) -> str | None:
    """Run asset deletion `deletion_id` if it is pending; return its final status."""
    deletion = asset_deletion_run(deletion_id=deletion_id)
    return deletion.status if deletion else None


@shared_task(name="assets.create_partitions", soft_time_limit=1500, time_limit=1800)
def candle_partitions_task(months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Daily: create the coming months' candle partitions (return the names created) and refresh
    the partitioned tables' own statistics where their partitions changed (imports leave them)."""
    created = candle_partitions_create(months_ahead=months_ahead)
    for model in PARTITIONED:
        parent_statistics_refresh(model=model)
    return created
