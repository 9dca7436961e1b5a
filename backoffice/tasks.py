"""Periodic upkeep of the back office."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="backoffice.history_prune")
def history_prune() -> None:
    """Delete change history older than HISTORY_RETENTION_DAYS (the prune_history command)."""
    call_command("prune_history")
