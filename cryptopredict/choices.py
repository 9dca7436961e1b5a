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
