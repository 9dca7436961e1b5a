"""Celery tasks of the alerts app: send one delivery, sweep the outbox, check stale series."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="alerts.delivery_send", acks_late=True, ignore_result=True)
def delivery_send(delivery_id: int) -> str:
    """Send one delivery; on failure queue the next try after its backoff (the outbox row keeps the truth)."""
    attempt = services.delivery_attempt(delivery_id=delivery_id)
    if attempt is None:
        return "not due"
    if attempt.retry_in is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        # In-process (no broker) a countdown is not honoured; deliveries_dispatch retries those.
        delivery_send.apply_async((delivery_id,), countdown=attempt.retry_in.total_seconds())
    return attempt.delivery.status


@shared_task(name="alerts.deliveries_dispatch", ignore_result=True)
def deliveries_dispatch() -> int:
    """Queue every due delivery: retries whose task was lost and claims of workers that died."""
    return services.deliveries_dispatch()


@shared_task(name="alerts.stale_check", ignore_result=True)
def stale_check() -> int:
    """Fire the data_stale rules whose series got no candle for too long."""
    return services.stale_evaluate()


@shared_task(name="alerts.prune", ignore_result=True)
def prune() -> int:
    """Delete firings older than ALERT_RETENTION_DAYS with their notifications and deliveries."""
    return services.firings_prune(before=timezone.now() - timedelta(days=settings.ALERT_RETENTION_DAYS))
