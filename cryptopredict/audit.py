"""The audit trail as every app sees it: services record their own writes, with an actor.

A service that changes data takes `actor=` (the User who asked, or None for a command, a task or
the demo) and calls `activity_record` inside its transaction, so the row commits with the change
whichever door the call came through: the API, an admin form or action, or a command. Where the
call came from, and the request's address, agent and API session, are not the service's business:
the API base and the admin open an `audit_channel` around each request, and a call outside one
(a command, a task) is recorded as ActivityType.SYSTEM.

The trail's table (users.UserActivity) belongs to an app above the framework and beside assets;
`settings.ACTIVITY_RECORDER` names its writing service (the way AUTH_USER_MODEL names the user
model), so no app has to import the users app to record.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

from .choices import ActivityType


@dataclass(frozen=True)
class Channel:
    activity_type: str
    request: object = None


_channel: ContextVar[Channel | None] = ContextVar("audit_channel", default=None)


@contextmanager
def audit_channel(activity_type: str, request=None):
    """Record the activity of the services called inside as coming from `activity_type` and `request`."""
    token = _channel.set(Channel(activity_type, request))
    try:
        yield
    finally:
        _channel.reset(token)


def activity_record(
    *,
    actor,
    action: str,
    entity: models.Model | None = None,
    details: dict | None = None,
    activity_type: str | None = None,
    request=None,
    session=None,
):
    """Append one row to the audit trail: `actor` did `action` on `entity`, through the current channel.

    `activity_type` and `request` override the channel's (sign-in records its own).
    """
    channel = _channel.get()
    if request is None and channel is not None:
        request = channel.request
    if activity_type is None:
        activity_type = channel.activity_type if channel is not None else ActivityType.SYSTEM
    if session is None and request is not None:
        session = getattr(request, "auth_session", None)
    return import_string(settings.ACTIVITY_RECORDER)(
        user=actor,
        activity_type=activity_type,
        action=action,
        entity=entity,
        details=details,
        request=request,
        session=session,
    )
