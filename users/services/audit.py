"""The audit trail: the one write of UserActivity rows.

The apps record through cryptopredict.audit.activity_record (settings.ACTIVITY_RECORDER names
this function), which adds the channel and request of the call; sign-in here calls this directly.
"""

from django.db import models

from ..models import User, UserActivity, UserSession


def client_ip(request) -> str | None:
    """Return the client's IP address from the request, or None outside a request."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def activity_record(
    *,
    user: User | None,
    activity_type: str,
    action: str,
    entity: models.Model | None = None,
    details: dict | None = None,
    request=None,
    session: UserSession | None = None,
) -> UserActivity:
    """Append one row to the audit trail (UserActivity), the only way rows get there; `user` is
    None for a command, a task or the demo."""
    return UserActivity.objects.create(
        user=user,
        session=session,
        activity_type=activity_type,
        action=action,
        entity_type=entity._meta.label_lower if entity is not None else None,
        entity_id=entity.pk if entity is not None else None,
        details=details or {},
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "") if request is not None else None,
    )
