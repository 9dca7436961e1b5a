"""Retention: activity records and ended sessions are kept for a bounded time."""

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.db.models import Q

from cryptopredict.retention import PRUNE_BATCH, delete_in_batches
from users.models import UserActivity, UserSession


def activities_prune(*, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the activity records written before `before`; return how many."""
    return delete_in_batches(UserActivity.objects.filter(created_at__lt=before), batch=batch)


def sessions_prune(*, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the API sessions that ended before `before` (revoked then, or whose refresh token,
    else access token, expired then); return how many. Their activity records stay, without it."""
    ended = (
        Q(is_active=False, updated_at__lt=before)
        | Q(refresh_expires_at__lt=before)
        | Q(refresh_expires_at__isnull=True, expires_at__lt=before)
    )
    return delete_in_batches(UserSession.objects.filter(ended), batch=batch)


def django_sessions_clear() -> None:
    """Delete the expired sessions of the admin's logins (what `clearsessions` does)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
