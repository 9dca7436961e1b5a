"""The default beat schedule, stored with django-celery-beat (editable in the admin)."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# When each timeframe's candles are synced: a minute or a few after they close.
SYNC_CRONTABS = {
    "1m": {"minute": "*"},
    "5m": {"minute": "*/5"},
    "15m": {"minute": "*/15"},
    "1h": {"minute": "1"},
    "4h": {"minute": "2", "hour": "*/4"},
    "1d": {"minute": "5", "hour": "0"},
    "1w": {"minute": "10", "hour": "0", "day_of_week": "1"},
    "1M": {"minute": "15", "hour": "0", "day_of_month": "1"},
}
DAILY = {
    "daily: sync assets (CoinGecko)": ("marketdata.sync_assets", {"minute": "30", "hour": "0"}),
    "daily: sync macro metrics": ("marketdata.sync_metrics", {"minute": "0", "hour": "1"}),
    # Before the archive run: the partitions it moves candles between exist.
    "daily: create candle partitions": ("assets.create_partitions", {"minute": "45", "hour": "2"}),
    "daily: archive candles and recount coverage": (
        "marketdata.daily_maintenance",
        {"minute": "0", "hour": "3"},
    ),
}


@dataclass
class ScheduleCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def default_schedules() -> dict[str, tuple[str, dict, dict]]:
    """Return name -> (task, crontab fields, kwargs) of the default schedule."""
    schedules = {
        f"sync candles {tf}": ("marketdata.sync_candles", SYNC_CRONTABS[tf], {"timeframe": tf})
        for tf in settings.SYNC_TIMEFRAMES
    }
    schedules.update({name: (task, cron, {}) for name, (task, cron) in DAILY.items()})
    return schedules


def schedules_setup(*, enable: bool | None = None) -> ScheduleCounts:
    """Create or update the default periodic tasks by name; return the counts.

    New tasks are disabled unless `enable` is True; `enable=None` leaves an existing task's
    switch as it is, so a rerun changes nothing. Times are UTC.
    """
    counts = ScheduleCounts()
    with transaction.atomic():
        for name, (task, cron, kwargs) in default_schedules().items():
            crontab, _ = CrontabSchedule.objects.get_or_create(
                **{"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
                | cron,
                timezone="UTC",
            )
            values = {"task": task, "crontab": crontab, "kwargs": json.dumps(kwargs), "interval": None}
            periodic = PeriodicTask.objects.filter(name=name).first()
            if periodic is None:
                PeriodicTask.objects.create(name=name, enabled=bool(enable), **values)
                counts.created += 1
                continue
            if enable is not None:
                values["enabled"] = enable
            if all(getattr(periodic, key) == value for key, value in values.items()):
                counts.unchanged += 1
                continue
            for key, value in values.items():
                setattr(periodic, key, value)
            periodic.save()
            counts.updated += 1
    return counts
