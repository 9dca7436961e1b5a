"""Send the outbox: claim a due delivery, send it, and record delivered, a retry, or dead.

A delivery is claimed by one conditional UPDATE (pending and due, or sending with an expired
lease), so two workers never send it at the same time, and one killed mid-send is taken over
once its lease ends. A claim that outlives its worker may have reached the receiver already:
the attempt carries the same Idempotency-Key, which the receiver uses to do the work once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.choices import DeliveryStatus
from alerts.models import NotificationDelivery

from .firing import firing_payload
from .transport import SendError, channel_send

logger = logging.getLogger(__name__)

ERROR_CHARS = 2000


@dataclass
class Attempt:
    delivery: NotificationDelivery
    ok: bool
    retry_in: timedelta | None = None  # when a retry is scheduled


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failed ones: base x 2^(attempts-1), capped."""
    seconds = settings.ALERT_DELIVERY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.ALERT_DELIVERY_BACKOFF_MAX_SECONDS))


def _claimable(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """Try to send one delivery if it is due; return what happened, or None if it was not ours to send."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.ALERT_DELIVERY_LEASE_SECONDS)
    claimed = NotificationDelivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=DeliveryStatus.SENDING, lease_until=lease, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return None
    delivery = NotificationDelivery.objects.select_related("channel", "firing__rule").get(pk=delivery_id)
    firing, channel = delivery.firing, delivery.channel
    mine = NotificationDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
    )
    try:
        if not (channel.is_active and channel.is_verified):
            raise SendError("the channel is paused or not verified")
        status = channel_send(
            channel=channel,
            subject=firing.title,
            text=firing.message,
            payload={**firing_payload(firing), "delivery_id": delivery.pk, "attempt": delivery.attempts},
            key=str(delivery.idempotency_key),
            event="alert.fired",
        )
    except SendError as exc:
        return _failed(delivery, mine, exc, now)
    done = timezone.now()
    mine.update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=done,
        lease_until=None,
        response_status=status,
        last_error="",
        updated_at=done,
    )
    delivery.refresh_from_db()
    return Attempt(delivery, ok=True)


def _failed(delivery: NotificationDelivery, mine, exc: SendError, now: datetime) -> Attempt:
    error = str(exc)[:ERROR_CHARS]
    dead = delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS
    wait = None if dead else backoff(delivery.attempts)
    mine.update(
        status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
        next_attempt_at=now if dead else now + wait,
        lease_until=None,
        last_error=error,
        response_status=exc.status,
        updated_at=timezone.now(),
    )
    log = logger.error if dead else logger.warning
    log(
        "Delivery %s attempt %s failed%s: %s",
        delivery.pk,
        delivery.attempts,
        " (dead)" if dead else "",
        error,
    )
    delivery.refresh_from_db()
    return Attempt(delivery, ok=False, retry_in=wait)


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return the ids of deliveries that are due or whose worker's lease ran out, oldest first."""
    now = now or timezone.now()
    due = NotificationDelivery.objects.filter(_claimable(now)).order_by("next_attempt_at", "pk")
    return list(due.values_list("pk", flat=True)[:limit])


def deliveries_dispatch(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue a task for every due delivery (the sweep behind lost tasks and dead workers); return how many."""
    from alerts.tasks import delivery_send

    ids = deliveries_due(now=now, limit=limit)
    for pk in ids:
        delivery_send.delay(pk)
    return len(ids)


def deliveries_send_due(*, now: datetime | None = None, limit: int = 500) -> list[Attempt]:
    """Send every due delivery in this process, one after the other (the command without a worker)."""
    attempts = []
    for pk in deliveries_due(now=now, limit=limit):
        attempt = delivery_attempt(delivery_id=pk, now=now)
        if attempt is not None:
            attempts.append(attempt)
    return attempts


def delivery_retry(*, delivery: NotificationDelivery) -> bool:
    """Give a dead delivery a fresh set of attempts, due now; return False if it was not dead."""
    now = timezone.now()
    moved = NotificationDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if moved:
        from alerts.tasks import delivery_send

        transaction.on_commit(lambda: delivery_send.delay(delivery.pk), robust=True)
    return bool(moved)
