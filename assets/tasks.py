"""Celery tasks: thin wrappers around assets' services."""

from celery import shared_task

from .services.deletion import asset_deletion_run


@shared_task(name="assets.delete_asset")
def asset_deletion_task(deletion_id: int) -> str | None:
    """Run asset deletion `deletion_id` if it is pending; return its final status."""
    deletion = asset_deletion_run(deletion_id=deletion_id)
    return deletion.status if deletion else None
