"""Writes on SyncState: a run started, succeeded or failed; the exact recount of the coverage."""

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from assets.models import Asset, PriceData

from ..models import SyncState

ERROR_LENGTH = 500


def state_started(*, source: str, asset: Asset | None = None, timeframe: str | None = None) -> SyncState:
    """Return the SyncState of the series (created on its first run) with the attempt time set."""
    state, _ = SyncState.objects.get_or_create(source=source, asset=asset, timeframe=timeframe)
    state.last_attempt_at = timezone.now()
    state.save(update_fields=["last_attempt_at", "updated_at"])
    return state


def state_succeeded(*, state: SyncState) -> SyncState:
    state.last_success_at = timezone.now()
    state.last_error = ""
    state.save(update_fields=["last_success_at", "last_error", "updated_at"])
    return state


def state_failed(*, state: SyncState, error: str) -> SyncState:
    state.last_error = error[:ERROR_LENGTH]
    state.last_error_at = timezone.now()
    state.save(update_fields=["last_error", "last_error_at", "updated_at"])
    return state


def coverage_refresh() -> int:
    """Recount the first and last candle and the count of every synced series exactly; return how
    many states changed.

    One grouped query over the synced series (imports, resampling and archiving change them
    too); run daily by the schedule, so that the coverage page itself never counts price_data.
    """
    states = list(SyncState.objects.filter(asset__isnull=False))
    if not states:
        return 0
    series = {(s.asset_id, s.timeframe) for s in states}
    stats = {
        (row["asset_id"], row["timeframe"]): row
        for row in PriceData.objects.filter(asset_id__in={a for a, _ in series})
        .values("asset_id", "timeframe")
        .annotate(first=Min("candle_time"), last=Max("candle_time"), count=Count("id"))
        .order_by()
    }
    now, changed = timezone.now(), []
    for state in states:
        row = stats.get((state.asset_id, state.timeframe), {"first": None, "last": None, "count": 0})
        values = (row["first"], row["last"], row["count"])
        if values != (state.first_candle_time, state.last_candle_time, state.candle_count):
            state.first_candle_time, state.last_candle_time, state.candle_count = values
            changed.append(state)
        state.counted_at = now
    fields = ["first_candle_time", "last_candle_time", "candle_count", "counted_at"]
    with transaction.atomic():
        SyncState.objects.bulk_update(states, fields, batch_size=500)
    return len(changed)
