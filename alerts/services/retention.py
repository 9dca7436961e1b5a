"""Retention: firings, with their notifications and deliveries, are kept for a bounded time."""

from datetime import datetime

from django.db.models import Exists, OuterRef

from alerts.choices import DeliveryStatus
from alerts.models import AlertFiring, NotificationDelivery
from cryptopredict.retention import PRUNE_BATCH, delete_in_batches


def firings_prune(*, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the firings older than `before` (their notifications and deliveries go with them),
    except those with a delivery still pending or being sent; return how many were deleted.

    In batches of `batch`, one transaction each, so that a big backlog never holds long locks.
    """
    open_deliveries = NotificationDelivery.objects.filter(
        firing=OuterRef("pk"), status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    )
    old = AlertFiring.objects.filter(fired_at__lt=before).exclude(Exists(open_deliveries))
    return delete_in_batches(old, batch=batch)
