"""In-app notifications: mark them read."""

from django.utils import timezone

from alerts.models import Notification


def notification_read(*, notification: Notification) -> Notification:
    """Mark one notification read (a second call keeps the first time)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_read_all(*, user) -> int:
    """Mark every unread notification of `user` read; return how many were unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
