"""The coverage page: every synced series with its first and last candle, count, gaps, lag, error."""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Sum
from django.utils import timezone

from cryptopredict.admin import BaseInline, ReadOnlyAdmin

from .models import KnownGap, SyncState
from .selectors import periods_behind


class KnownGapInline(BaseInline):
    model = KnownGap
    fields = ("start", "end", "missing", "detected_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    """Read-only: the syncs write these rows; the numbers come from the rows themselves (kept by the
    syncs, recounted daily by coverage_refresh), so the page never counts price_data."""

    list_display = (
        "source",
        "asset",
        "timeframe",
        "first_candle_time",
        "last_candle_time",
        "candle_count",
        "gaps",
        "lag",
        "last_success_at",
        "error",
    )
    list_display_links = ("source", "asset")
    list_filter = ("source", "timeframe")
    list_select_related = ("asset",)
    search_fields = ("=asset__symbol", "source")
    inlines = (KnownGapInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(gap_count=Count("known_gaps"), gap_missing=Sum("known_gaps__missing"))
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Data coverage", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description="known gaps")
    def gaps(self, state):
        if not state.gap_count:
            return "-"
        return f"{state.gap_count} ({state.gap_missing} candles)"

    @admin.display(description="lag")
    def lag(self, state):
        lag = state.lag(timezone.now())
        if lag is None:
            return "-"
        behind = periods_behind(state, timezone.now())
        text = _duration(lag)
        return f"{text} (stale)" if behind > settings.HEALTH_STALE_PERIODS else text

    @admin.display(description="last error")
    def error(self, state):
        return state.last_error[:120] if state.last_error else "-"


def _duration(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts[:2]) or "0m"
