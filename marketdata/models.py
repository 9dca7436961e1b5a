"""What the platform knows about each series it fetches: where it stands, and what the source lacks."""

from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from assets.models import Asset
from cryptopredict.choices import Timeframe
from cryptopredict.models import TimestampedModel, choices_check
from cryptopredict.timeframes import next_time


class SyncState(TimestampedModel):
    """One series fetched from one source: an asset's candles of one timeframe from an exchange
    (source "binance", or any ccxt exchange id, or "binance_archive"), or a feed without asset and
    timeframe ("coingecko", "fear_greed", "fred:SP500", ...)."""

    source = models.CharField(max_length=40)
    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, null=True, blank=True, related_name="sync_states", db_index=False
    )
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, null=True, blank=True)
    # The stored series (every source's candles of the asset and timeframe), kept current by the
    # syncs and recounted exactly by coverage_refresh: the coverage page never counts price_data.
    first_candle_time = models.DateTimeField(null=True, blank=True)
    last_candle_time = models.DateTimeField(null=True, blank=True)
    candle_count = models.BigIntegerField(default=0, db_default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="", db_default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sync_state"
        ordering = ["source", "asset__symbol", "timeframe"]
        verbose_name = "sync state"
        constraints = [
            models.CheckConstraint(
                condition=Q(asset__isnull=True, timeframe__isnull=True)
                | Q(asset__isnull=False, timeframe__isnull=False),
                name="chk_sync_state_series_or_feed",
            ),
            models.UniqueConstraint(
                fields=["source", "asset", "timeframe"],
                condition=Q(asset__isnull=False),
                name="unique_sync_state_series",
            ),
            models.UniqueConstraint(
                fields=["source"], condition=Q(asset__isnull=True), name="unique_sync_state_feed"
            ),
            models.CheckConstraint(condition=Q(candle_count__gte=0), name="chk_sync_state_count"),
            models.CheckConstraint(
                condition=Q(first_candle_time__isnull=True)
                | Q(last_candle_time__isnull=True)
                | Q(first_candle_time__lte=F("last_candle_time")),
                name="chk_sync_state_first_before_last",
            ),
            choices_check("timeframe", Timeframe, null=True, name="chk_sync_state_timeframe"),
        ]
        indexes = [models.Index(fields=["asset", "timeframe"], name="idx_sync_state_series")]

    def __str__(self):
        if self.asset_id is None:
            return self.source
        return f"{self.source} {self.asset.symbol} {self.timeframe}"

    def lag(self, now: datetime | None = None) -> timedelta | None:
        """Return how long ago the last stored candle closed (None without candles)."""
        if self.last_candle_time is None or self.timeframe is None:
            return None
        return max((now or timezone.now()) - next_time(self.last_candle_time, self.timeframe), timedelta(0))


class KnownGap(models.Model):
    """Candles a source was asked for twice and does not have (an exchange outage, a halted pair):
    not requested again, shown on the coverage page."""

    sync_state = models.ForeignKey(SyncState, on_delete=models.CASCADE, related_name="known_gaps")
    start = models.DateTimeField(help_text="open time of the first missing candle")
    end = models.DateTimeField(help_text="open time of the last missing candle")
    missing = models.IntegerField()
    detected_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "sync_known_gap"
        ordering = ["sync_state", "start"]
        constraints = [
            models.UniqueConstraint(fields=["sync_state", "start"], name="unique_known_gap_start"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="chk_known_gap_range"),
            models.CheckConstraint(condition=Q(missing__gt=0), name="chk_known_gap_missing"),
        ]

    def __str__(self):
        return f"{self.sync_state}: {self.missing} missing from {self.start:%Y-%m-%d %H:%M}"
