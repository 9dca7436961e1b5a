"""Write a batch of firings with their notifications and outbox rows, in the caller's transaction."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts.models import AlertFiring, AlertRule, Notification, NotificationDelivery

logger = logging.getLogger(__name__)


@dataclass
class Fire:
    """A rule whose condition holds for one event."""

    rule: AlertRule
    event_key: str
    title: str
    message: str = ""
    observed_at: datetime | None = None
    value: Decimal | None = None
    payload: dict = field(default_factory=dict)


def firing_payload(firing: AlertFiring) -> dict:
    """Return the JSON document describing a firing (the webhook body, the notification's payload)."""
    rule = firing.rule
    return {
        "event": "alert.fired",
        "firing_id": firing.pk,
        "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
        "title": firing.title,
        "message": firing.message,
        "observed_at": firing.observed_at.isoformat() if firing.observed_at else None,
        "value": None if firing.value is None else str(firing.value),
        "fired_at": firing.fired_at.isoformat(),
        "data": firing.payload,
    }


def _staff_ids() -> list[int]:
    # System rules (no owner) are heard by staff in-app.
    return list(
        get_user_model().objects.alive().filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    )


@transaction.atomic
def firings_write(fires: list[Fire], *, disarm: bool, now: datetime | None = None) -> list[AlertFiring]:
    """Record `fires` that have not fired for their event yet; return the new firings.

    For each firing: one in-app notification per recipient and one pending delivery per active,
    verified channel of the rule, in the caller's transaction (the outbox), and a task per
    delivery queued after the commit. `disarm` marks threshold rules as fired until their
    condition is false again. Costs a constant number of queries for any number of fires.
    """
    if not fires:
        return []
    now = now or timezone.now()
    rule_ids = {fire.rule.pk for fire in fires}
    done = set(
        AlertFiring.objects.filter(
            rule_id__in=rule_ids, event_key__in={f.event_key for f in fires}
        ).values_list("rule_id", "event_key")
    )
    fresh = [fire for fire in fires if (fire.rule.pk, fire.event_key) not in done]
    if not fresh:
        return []
    firings = AlertFiring.objects.bulk_create(
        [
            AlertFiring(
                rule=fire.rule,
                event_key=fire.event_key,
                fired_at=now,
                observed_at=fire.observed_at,
                value=fire.value,
                title=fire.title[:200],
                message=fire.message,
                payload=fire.payload,
            )
            for fire in fresh
        ]
    )
    fired_ids = [firing.rule_id for firing in firings]
    updates = {"last_fired_at": now, "fire_count": F("fire_count") + 1, "updated_at": now}
    if disarm:
        updates["is_armed"] = False
    AlertRule.objects.filter(pk__in=fired_ids).update(**updates)

    staff = _staff_ids() if any(firing.rule.user_id is None for firing in firings) else []
    notifications = []
    for firing in firings:
        payload = firing_payload(firing)
        for user_id in [firing.rule.user_id] if firing.rule.user_id else staff:
            notifications.append(
                Notification(
                    user_id=user_id,
                    firing=firing,
                    title=firing.title,
                    body=firing.message,
                    payload=payload,
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(notifications)

    through = AlertRule.channels.through
    links = through.objects.filter(
        alertrule_id__in=fired_ids,
        notificationchannel__is_active=True,
        notificationchannel__verified_at__isnull=False,
    ).values_list("alertrule_id", "notificationchannel_id")
    channels_of: dict[int, list[int]] = {}
    for rule_id, channel_id in links:
        channels_of.setdefault(rule_id, []).append(channel_id)
    deliveries = NotificationDelivery.objects.bulk_create(
        [
            NotificationDelivery(firing=firing, channel_id=channel_id, next_attempt_at=now)
            for firing in firings
            for channel_id in channels_of.get(firing.rule_id, ())
        ]
    )
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        # robust: a broker that is down must not fail the write; the dispatcher sends them later.
        transaction.on_commit(lambda: _queue(ids), robust=True)
    logger.info("%d alert(s) fired, %d delivery(ies) queued", len(firings), len(deliveries))
    return firings


def _queue(ids: list[int]) -> None:
    from alerts.tasks import delivery_send

    for pk in ids:
        delivery_send.delay(pk)
