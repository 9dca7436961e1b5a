from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from cryptopredict.choices import JobStatus, Timeframe
from cryptopredict.formatting import moment
from cryptopredict.models import (
    ActiveMixin,
    TimestampedModel,
    ValidationMixin,
    choices_check,
    range_check,
)

from .choices import AssetType

PRICE = {"max_digits": 38, "decimal_places": 18}


class AssetQuerySet(models.QuerySet):
    def tracked(self):
        """Return the assets that count in market-wide figures: active, supported crypto and stablecoins."""
        return self.filter(
            is_active=True, is_supported=True, asset_type__in=[AssetType.CRYPTO, AssetType.STABLECOIN]
        )


class Asset(ActiveMixin, TimestampedModel):
    api_slug_field = "symbol"  # the API takes an asset by id or symbol (cryptopredict.api.base)
    objects = AssetQuerySet.as_manager()
    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    asset_type = models.CharField(max_length=20, choices=AssetType.choices)
    quote_currency = models.CharField(max_length=10, null=True, blank=True)
    external_ids = models.JSONField(null=True, blank=True, default=dict, db_default={})
    logo_url = models.TextField(null=True, blank=True)
    links = models.JSONField(null=True, blank=True, default=dict, db_default={})
    description = models.TextField(null=True, blank=True)

    market_cap = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    market_cap_rank = models.IntegerField(null=True, blank=True, db_index=True)
    current_price = models.DecimalField(**PRICE, null=True, blank=True)
    total_volume = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    circulating_supply = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True)
    total_supply = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True)
    max_supply = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True)
    price_change_percentage_24h = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    price_change_percentage_7d = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    price_change_percentage_30d = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    ath = models.DecimalField(**PRICE, null=True, blank=True)
    ath_date = models.DateTimeField(null=True, blank=True)
    atl = models.DecimalField(**PRICE, null=True, blank=True)
    atl_date = models.DateTimeField(null=True, blank=True)
    metrics_details = models.JSONField(null=True, blank=True, default=dict, db_default={})

    timeframe_usage = models.JSONField(null=True, blank=True, default=dict, db_default={})
    last_accessed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    access_count = models.IntegerField(default=0, db_default=0)
    is_supported = models.BooleanField(default=True, db_default=True)
    data_quality_score = models.IntegerField(default=100, db_default=100)
    data_source = models.CharField(max_length=20, default="coingecko", db_default="coingecko", db_index=True)
    last_price_update = models.DateTimeField(null=True, blank=True)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(
        excluded_fields=["updated_at", "access_count", "last_accessed_at", "timeframe_usage"]
    )

    class Meta:
        db_table = "assets"
        ordering = [F("market_cap_rank").asc(nulls_last=True), "symbol"]
        constraints = [
            range_check("market_cap", low=0, name="chk_market_cap_positive"),
            range_check("current_price", low=0, low_open=True, name="chk_current_price_positive"),
            models.CheckConstraint(
                condition=(Q(circulating_supply__isnull=True) | Q(circulating_supply__gte=0))
                & (Q(total_supply__isnull=True) | Q(total_supply__gte=0))
                & (Q(max_supply__isnull=True) | Q(max_supply__gte=0)),
                name="chk_supply_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_supply__isnull=True)
                | Q(circulating_supply__isnull=True)
                | Q(circulating_supply__lte=F("max_supply")),
                name="chk_supply_within_max",
            ),
            models.CheckConstraint(condition=Q(data_quality_score__range=(0, 100)), name="chk_data_quality"),
            range_check("market_cap_rank", low=0, low_open=True, name="chk_market_cap_rank"),
            models.CheckConstraint(condition=Q(access_count__gte=0), name="chk_access_count_positive"),
            choices_check("asset_type", AssetType, name="chk_assets_asset_type"),
        ]
        indexes = [
            models.Index(fields=["asset_type", "is_active"], name="idx_assets_type_active"),
        ]

    def __str__(self):
        return f"{self.symbol} ({self.name})"


def candle_constraints(prefix: str) -> list:
    """Return the OHLCV rules every candle table holds, with constraint names led by `prefix`."""
    return [
        models.CheckConstraint(
            condition=Q(low_price__lte=F("open_price"))
            & Q(low_price__lte=F("close_price"))
            & Q(high_price__gte=F("open_price"))
            & Q(high_price__gte=F("close_price")),
            name=f"{prefix}ohlc_logic",
        ),
        models.CheckConstraint(
            condition=Q(open_price__gt=0, high_price__gt=0, low_price__gt=0, close_price__gt=0),
            name=f"{prefix}prices_positive",
        ),
        models.CheckConstraint(condition=Q(volume__gte=0), name=f"{prefix}volume_non_negative"),
        choices_check("timeframe", Timeframe, name=f"{prefix}timeframe_valid"),
    ]


# The technical indicators of a candle (assets.indicators.indicator_frame's keys), one nullable
# double column each: a candle without them stores nothing but bits of the null bitmap, one with
# all of them 120 bytes (the JSON they replaced took 429). NULL: not computed or still warming up.
INDICATOR_FIELDS = (
    "rsi_14",
    "sma_20",
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "ema_200",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "volatility_30",
)


def _indicator() -> models.FloatField:
    return models.FloatField(null=True, blank=True, editable=False)


class CandleQuerySet(models.QuerySet):
    def series(self, asset, timeframe: str):
        """Return the candles of one series: `asset` (an Asset, its id or an OuterRef) in `timeframe`."""
        return self.filter(asset=asset, timeframe=timeframe)


class Candle(ValidationMixin, TimestampedModel):
    """The columns of one OHLCV candle; candle_time is its open time, UTC."""

    objects = CandleQuerySet.as_manager()

    # The unique (asset, timeframe, candle_time) index serves lookups by asset.
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, db_index=False)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    open_price = models.DecimalField(**PRICE)
    high_price = models.DecimalField(**PRICE)
    low_price = models.DecimalField(**PRICE)
    close_price = models.DecimalField(**PRICE)
    volume = models.DecimalField(max_digits=38, decimal_places=8, default=0, db_default=0)
    market_cap = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    trade_count = models.IntegerField(null=True, blank=True)
    vwap = models.DecimalField(**PRICE, null=True, blank=True)
    rsi_14 = _indicator()
    sma_20 = _indicator()
    sma_50 = _indicator()
    sma_200 = _indicator()
    ema_12 = _indicator()
    ema_26 = _indicator()
    ema_200 = _indicator()
    macd = _indicator()
    macd_signal = _indicator()
    macd_hist = _indicator()
    bb_upper = _indicator()
    bb_middle = _indicator()
    bb_lower = _indicator()
    atr_14 = _indicator()
    volatility_30 = _indicator()
    # A price point (e.g. a CoinGecko daily price) has no traded range: open = high = low = close
    # by construction, so nothing derived from high and low (ATR, True Range) is computed on it.
    is_price_point = models.BooleanField(
        default=False,
        db_default=False,
        help_text="One price, not a traded OHLC range: high and low are not real, so ATR is left empty.",
    )
    candle_time = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["asset", "timeframe", "-candle_time"]

    def __str__(self):
        return f"{self.asset.symbol} {self.timeframe} {moment(self.candle_time)}"

    @property
    def technical_indicators(self) -> dict[str, float]:
        """Return the indicators the candle has, by name (the API's and the admin's object)."""
        return indicators_of(self.__dict__)

    def indicators_clear(self) -> None:
        """Empty the indicators (a changed candle's are stale: the refresh computes them again)."""
        for name in INDICATOR_FIELDS:
            setattr(self, name, None)


def indicators_of(row) -> dict[str, float]:
    """Return the indicators present in a candle's row (a mapping of column -> value), by name."""
    return {name: row[name] for name in INDICATOR_FIELDS if row.get(name) is not None}


class PriceData(Candle):
    class Meta(Candle.Meta):
        db_table = "price_data"
        default_related_name = "price_data"
        verbose_name = "candle"
        verbose_name_plural = "price data"
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "timeframe", "candle_time"], name="unique_asset_timeframe_candle"
            ),
            *candle_constraints("chk_"),
        ]
        indexes = [
            models.Index(fields=["candle_time"], name="idx_price_data_candle_time"),
            # Lists filtered by timeframe, newest first (the admin filter, `?timeframe=`); a plain
            # timeframe index (three values) served no query.
            models.Index(fields=["timeframe", "candle_time"], name="idx_price_data_tf_time"),
            models.Index(fields=["volume"], name="idx_price_data_volume"),
            # One asset's candles of every timeframe in time order (the admin's asset filter and
            # search, `?asset=`): the unique index orders them only within one timeframe.
            models.Index(fields=["asset", "candle_time"], name="idx_price_data_asset_time"),
            # The admin's and the API's yes/no filters, newest first: a rare value would otherwise
            # walk the candle_time index through every row (2.7 s at 10M for no price point).
            # Validation moves candles from one side to the other, so both sides are indexed; price
            # points are the rare side (an exchange's candles are none), so only they are, and
            # importing exchange candles writes nothing to that index.
            models.Index(fields=["is_validated", "candle_time"], name="idx_price_data_valid_time"),
            models.Index(
                fields=["candle_time"],
                name="idx_price_data_point_time",
                condition=models.Q(is_price_point=True),
            ),
        ]


class PriceDataArchive(Candle):
    archived_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta(Candle.Meta):
        db_table = "price_data_archive"
        default_related_name = "price_data_archive"
        verbose_name = "archived candle"
        verbose_name_plural = "price data archive"
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "timeframe", "candle_time"], name="unique_archive_candle"
            ),
            *candle_constraints("chk_archive_"),
        ]
        indexes = [
            models.Index(fields=["candle_time"], name="idx_price_archive_candle_time"),
            # As price_data's: a partition archived whole brings its own, which attaching reuses.
            models.Index(fields=["asset", "candle_time"], name="idx_price_archive_asset_time"),
        ]


class IndicatorState(models.Model):
    """The watermark of one candle series (asset, timeframe) for its technical indicators.

    Candles from stale_from to stale_until were written since the indicators were last computed;
    they and the candles after them that depend on them (assets.indicators.DEPENDENT_CANDLES) are
    what the next indicator refresh computes. Both empty: the stored indicators are current. A
    series without a row has never been computed by the service (candles written by SQL or the
    ORM directly): compute_indicators computes it whole once.
    """

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="indicator_states", db_index=False
    )
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    stale_from = models.DateTimeField(null=True, blank=True)
    stale_until = models.DateTimeField(null=True, blank=True)
    # Counts the writes noted: a refresh clears the range only if no write came in meanwhile.
    version = models.BigIntegerField(default=0, db_default=0)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "indicator_states"
        ordering = ["asset", "timeframe"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "timeframe"], name="unique_indicator_state"),
            models.CheckConstraint(
                condition=Q(stale_from__isnull=True, stale_until__isnull=True)
                | Q(stale_from__isnull=False, stale_until__isnull=False, stale_from__lte=F("stale_until")),
                name="chk_indicator_state_range",
            ),
            choices_check("timeframe", Timeframe, name="chk_indicator_state_timeframe"),
        ]

    def __str__(self):
        return f"{self.asset_id} {self.timeframe} indicators"


class AssetDeletion(TimestampedModel):
    """The deletion of an asset and everything that belongs to it, run as a job in batches.

    An asset may own millions of candles: the admin's delete queues one of these instead of
    loading every candle through Django's collector, and the job shows its progress.
    """

    asset = models.ForeignKey(Asset, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    symbol = models.CharField(max_length=20, help_text="The asset's symbol, kept once it is gone.")
    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING, db_default=JobStatus.PENDING
    )
    candles_total = models.BigIntegerField(
        default=0, db_default=0, help_text="Live and archived candles to delete."
    )
    candles_deleted = models.BigIntegerField(default=0, db_default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "asset_deletions"
        ordering = ["-created_at"]
        constraints = [
            choices_check("status", JobStatus, name="chk_asset_deletion_status"),
            models.CheckConstraint(
                condition=Q(candles_total__gte=0, candles_deleted__gte=0), name="chk_asset_deletion_counts"
            ),
        ]

    def __str__(self):
        return f"Deletion of {self.symbol} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == JobStatus.COMPLETED:
            return 100
        if not self.candles_total:
            return 0
        return min(99, self.candles_deleted * 100 // self.candles_total)


class LatestCandle(models.Model):
    """The latest candle of each asset and timeframe: a view over `price_data` (see migration 0009).

    A materialized view on PostgreSQL, refreshed after the candle writes commit (debounced, see
    cryptopredict.aggregates), and a plain view elsewhere. Read it, never write it.
    """

    pk = models.CompositePrimaryKey("asset", "timeframe")
    asset = models.ForeignKey(Asset, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    candle_time = models.DateTimeField()
    close_price = models.DecimalField(**PRICE)

    VIEW = "latest_candles"

    class Meta:
        managed = False
        db_table = "latest_candles"
        ordering = ["asset", "timeframe"]

    def __str__(self):
        return f"{self.asset.symbol} {self.timeframe} latest {moment(self.candle_time)}"
