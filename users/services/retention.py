"""Retention: activity records and ended sessions are kept for a bounded time."""

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from users.models import UserActivity, UserSession

PRUNE_BATCH = 5_000


def _delete_in_batches(queryset, *, batch: int) -> int:
    """Delete the rows of `queryset` `batch` at a time, one transaction each, so that a big
    backlog never holds long locks; return how many were deleted."""
    model, deleted = queryset.model, 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return deleted
            model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def activities_prune(*, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the activity records written before `before`; return how many."""
    return _delete_in_batches(UserActivity.objects.filter(created_at__lt=before), batch=batch)


def sessions_prune(*, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the API sessions that ended before `before` (revoked then, or whose refresh token,
    else access token, expired then); return how many. Their activity records stay, without it."""
    ended = (
        Q(is_active=False, updated_at__lt=before)
        | Q(refresh_expires_at__lt=before)
        | Q(refresh_expires_at__isnull=True, expires_at__lt=before)
    )
    return _delete_in_batches(UserSession.objects.filter(ended), batch=batch)


def django_sessions_clear() -> None:
    """Delete the expired sessions of the admin's logins (what `clearsessions` does)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
