"""Enums shared by several apps."""

from datetime import timedelta

from django.db import models


class Timeframe(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    D1 = "1d", "1 day"
    W1 = "1w", "1 week"
    MO1 = "1M", "1 month"


# Fixed-length timeframes; a month has no fixed length and is aligned by calendar instead.
TIMEFRAME_DELTAS = {
    Timeframe.M1: timedelta(minutes=1),
    Timeframe.M5: timedelta(minutes=5),
    Timeframe.M15: timedelta(minutes=15),
    Timeframe.H1: timedelta(hours=1),
    Timeframe.H4: timedelta(hours=4),
    Timeframe.D1: timedelta(days=1),
    Timeframe.W1: timedelta(weeks=1),
}


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class UserRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    PUBLIC = "public", "Public"
    GUEST = "guest", "Guest"


class ActivityType(models.TextChoices):
    """Where a write in the audit trail (users.UserActivity) came from."""

    API = "api", "API"
    ADMIN = "admin", "Admin"
    AUTH = "auth", "Sign-in"
    # A command, a task or the demo: no request, and no user unless the caller names one.
    SYSTEM = "system", "Command or task"


class ActivityAction(models.TextChoices):
    """What a row of the audit trail records."""

    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in refused"
    LOGOUT = "logout", "Signed out"
    REFRESH_REUSED = "refresh_reused", "Rotated refresh token presented again"
    SESSION_REVOKED = "session_revoked", "Session revoked"
    REGISTER = "register", "Registered"
    REGISTER_EXISTING = "register_existing", "Registered again with a known email"
    EMAIL_VERIFIED = "email_verified", "Email verified"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET = "password_reset", "Password reset"
