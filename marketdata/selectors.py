"""Reads of the sync states: how far behind each series is, which are stale."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from cryptopredict.timeframes import timeframe_delta

from .models import SyncState


def periods_behind(state: SyncState, now: datetime) -> int:
    """Return how many closed candles of a series are missing after its last stored one (0 when
    current: the last stored candle is the last closed one)."""
    lag = state.lag(now)
    return 0 if lag is None else lag // timeframe_delta(state.timeframe)


@dataclass
class StaleSeries:
    series: str
    last_candle: datetime | None
    periods_behind: int | None


def stale_series(*, now: datetime | None = None, periods: int | None = None) -> list[StaleSeries]:
    """Return the synced series missing more than `periods` (HEALTH_STALE_PERIODS) closed candles
    after their last stored one, or that never stored one."""
    now = now or timezone.now()
    periods = settings.HEALTH_STALE_PERIODS if periods is None else periods
    stale = []
    for state in SyncState.objects.filter(asset__isnull=False).select_related("asset"):
        if state.last_candle_time is None:
            stale.append(StaleSeries(str(state), None, None))
            continue
        behind = periods_behind(state, now)
        if behind > periods:
            stale.append(StaleSeries(str(state), state.last_candle_time, behind))
    return stale
