"""Reads of the alerts app: what a user sees of their notifications, rules and channels."""

from django.db.models import QuerySet

from .models import AlertRule, Notification, NotificationChannel


def notifications_of(*, user, unread: bool = False) -> QuerySet[Notification]:
    """Return `user`'s in-app notifications, newest first (only the unread ones with `unread`)."""
    notifications = Notification.objects.filter(user=user)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def rules_of(*, user) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(user=user)


def channels_of(*, user) -> QuerySet[NotificationChannel]:
    return NotificationChannel.objects.filter(user=user)
