from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from cryptopredict.choices import Timeframe
from cryptopredict.formatting import moment, number, percent
from cryptopredict.models import (
    ActiveMixin,
    AIAnalysisMixin,
    TimestampedModel,
    UserTrackingMixin,
    choices_check,
    range_check,
)

from .choices import MappingSource, Outlook, RotationPhase, RotationSignal

UNIT = {"max_digits": 4, "decimal_places": 2}  # a confidence in [0, 1]


class Sector(ActiveMixin, TimestampedModel):
    api_slug_field = "slug"  # the API takes a sector by id or slug (cryptopredict.api.base)
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="", db_default="")
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    color = models.CharField(max_length=7, default="#808080", db_default="#808080", help_text="#rrggbb")
    sort_order = models.IntegerField(default=0, db_default=0)
    total_market_cap = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    total_volume_24h = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    asset_count = models.IntegerField(default=0, db_default=0)
    metadata = models.JSONField(default=dict, db_default={}, blank=True)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "sectors"
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9A-Fa-f]{6}$"), name="chk_sector_color"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="chk_sector_not_own_parent"),
            models.CheckConstraint(condition=Q(asset_count__gte=0), name="chk_sector_asset_count"),
        ]

    def __str__(self):
        return self.name


class SectorHistory(TimestampedModel):
    sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="history", db_index=False)
    snapshot_time = models.DateTimeField()
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    total_market_cap = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    total_volume_24h = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    market_cap_change_24h = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    dominance = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    avg_price_change_24h = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    asset_count = models.IntegerField(default=0, db_default=0)
    top_performers = models.JSONField(default=list, db_default=[], blank=True)

    class Meta:
        db_table = "sector_history"
        ordering = ["sector", "-snapshot_time"]
        verbose_name_plural = "sector history"
        constraints = [
            models.UniqueConstraint(
                fields=["sector", "timeframe", "snapshot_time"], name="unique_sector_history"
            ),
            range_check("dominance", low=0, high=100, name="chk_sector_history_dominance"),
            models.CheckConstraint(condition=Q(asset_count__gte=0), name="chk_sector_history_count"),
            choices_check("timeframe", Timeframe, name="chk_sector_history_timeframe"),
        ]

    def __str__(self):
        return f"{self.sector} {self.timeframe} {self.snapshot_time:%Y-%m-%d}"


class SectorMapping(UserTrackingMixin, TimestampedModel):
    # unique (asset, sector) serves lookups by asset.
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, related_name="sector_mappings", db_index=False
    )
    sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="mappings")
    weight = models.DecimalField(max_digits=5, decimal_places=2, default=100, db_default=100)
    is_primary = models.BooleanField(default=False, db_default=False)
    confidence = models.DecimalField(**UNIT, default=1, db_default=1)
    source = models.CharField(
        max_length=10,
        choices=MappingSource.choices,
        default=MappingSource.MANUAL,
        db_default=MappingSource.MANUAL,
    )

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "sector_mappings"
        ordering = ["asset", "-is_primary", "-weight"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "sector"], name="unique_sector_mapping"),
            models.UniqueConstraint(
                fields=["asset"], condition=Q(is_primary=True), name="unique_primary_sector"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0, weight__lte=100), name="chk_sector_mapping_weight"
            ),
            models.CheckConstraint(
                condition=Q(confidence__range=(0, 1)), name="chk_sector_mapping_confidence"
            ),
            choices_check("source", MappingSource, name="chk_sector_mapping_source"),
        ]

    def __str__(self):
        return f"{self.sector.name} {percent(self.weight)} of {self.asset.symbol}"


class AISectorAnalysis(AIAnalysisMixin, TimestampedModel):
    sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="ai_analyses", db_index=False)
    metrics_snapshot = models.ForeignKey(
        "macro.MetricsSnapshot", on_delete=models.CASCADE, related_name="sector_analyses"
    )
    ai_model = models.ForeignKey("ai.AIModel", on_delete=models.PROTECT, related_name="sector_analyses")
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.D1, db_default=Timeframe.D1
    )
    momentum_score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    relative_strength = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    performance_rank = models.IntegerField(null=True, blank=True)
    outlook = models.CharField(
        max_length=10, choices=Outlook.choices, default=Outlook.NEUTRAL, db_default=Outlook.NEUTRAL
    )
    rotation_signal = models.CharField(
        max_length=10,
        choices=RotationSignal.choices,
        default=RotationSignal.NEUTRAL,
        db_default=RotationSignal.NEUTRAL,
    )
    key_assets = models.JSONField(default=list, db_default=[], blank=True)
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_sector_analyses"
        ordering = ["-analysis_time", "performance_rank"]
        verbose_name = "AI sector analysis"
        verbose_name_plural = "AI sector analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            models.UniqueConstraint(
                fields=["sector", "metrics_snapshot", "ai_model"], name="unique_sector_analysis"
            ),
            range_check("momentum_score", low=-1, high=1, name="chk_sector_analysis_momentum"),
            range_check("performance_rank", low=0, low_open=True, name="chk_sector_analysis_rank"),
            choices_check("outlook", Outlook, name="chk_sector_analysis_outlook"),
            choices_check("rotation_signal", RotationSignal, name="chk_sector_analysis_rotation"),
            choices_check("timeframe", Timeframe, name="chk_sector_analysis_timeframe"),
        ]

    def __str__(self):
        return f"{self.sector.name} {self.outlook} at {moment(self.analysis_time)}"


class AICrossSectorAnalysis(AIAnalysisMixin, TimestampedModel):
    metrics_snapshot = models.ForeignKey(
        "macro.MetricsSnapshot",
        on_delete=models.CASCADE,
        related_name="cross_sector_analyses",
        db_index=False,
    )
    ai_model = models.ForeignKey("ai.AIModel", on_delete=models.PROTECT, related_name="cross_sector_analyses")
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.D1, db_default=Timeframe.D1
    )
    rotation_phase = models.CharField(max_length=12, choices=RotationPhase.choices)
    leading_sectors = models.JSONField(
        default=list, db_default=[], blank=True, help_text="Sector ids, ranked."
    )
    lagging_sectors = models.JSONField(
        default=list, db_default=[], blank=True, help_text="Sector ids, ranked."
    )
    correlation_matrix = models.JSONField(default=dict, db_default={}, blank=True)
    market_breadth = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_cross_sector_analyses"
        ordering = ["-analysis_time"]
        verbose_name = "AI cross-sector analysis"
        verbose_name_plural = "AI cross-sector analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            models.UniqueConstraint(
                fields=["metrics_snapshot", "ai_model", "timeframe"], name="unique_cross_sector_analysis"
            ),
            choices_check("rotation_phase", RotationPhase, name="chk_cross_sector_phase"),
            choices_check("timeframe", Timeframe, name="chk_cross_sector_timeframe"),
            range_check("market_breadth", low=0, high=100, name="chk_cross_sector_breadth"),
        ]

    def __str__(self):
        return f"{self.rotation_phase} at {self.analysis_time:%Y-%m-%d}"


class SectorRotationFlow(TimestampedModel):
    cross_analysis = models.ForeignKey(
        AICrossSectorAnalysis, on_delete=models.CASCADE, related_name="flows", db_index=False
    )
    from_sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="outflows")
    to_sector = models.ForeignKey(Sector, on_delete=models.CASCADE, related_name="inflows")
    flow_strength = models.DecimalField(max_digits=5, decimal_places=4)
    estimated_flow_usd = models.DecimalField(max_digits=30, decimal_places=2, null=True, blank=True)
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.D1, db_default=Timeframe.D1
    )
    detected_at = models.DateTimeField()
    confidence = models.DecimalField(**UNIT, default=0, db_default=0)

    class Meta:
        db_table = "sector_rotation_flows"
        ordering = ["-detected_at", "-flow_strength"]
        constraints = [
            models.UniqueConstraint(
                fields=["cross_analysis", "from_sector", "to_sector"], name="unique_rotation_flow"
            ),
            models.CheckConstraint(
                condition=~Q(from_sector=F("to_sector")), name="chk_flow_distinct_sectors"
            ),
            models.CheckConstraint(condition=Q(flow_strength__range=(0, 1)), name="chk_flow_strength"),
            models.CheckConstraint(condition=Q(confidence__range=(0, 1)), name="chk_flow_confidence"),
            choices_check("timeframe", Timeframe, name="chk_flow_timeframe"),
        ]

    def __str__(self):
        return f"{self.from_sector.name} -> {self.to_sector.name} ({number(self.flow_strength)})"


class SectorDaily(models.Model):
    """Each sector's day with its share of the sectors' market cap: a view over the daily
    SectorHistory rows with a market cap (see migration 0006).

    A materialized view on PostgreSQL, refreshed after SectorHistory writes commit (debounced, see
    cryptopredict.aggregates), and a plain view elsewhere. Read it, never write it.
    """

    pk = models.CompositePrimaryKey("sector", "snapshot_time")
    sector = models.ForeignKey(Sector, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    snapshot_time = models.DateTimeField()
    total_market_cap = models.DecimalField(max_digits=30, decimal_places=2)
    total_volume_24h = models.DecimalField(max_digits=30, decimal_places=2, null=True)
    asset_count = models.IntegerField()
    sectors_market_cap = models.DecimalField(
        max_digits=32, decimal_places=2, help_text="Of every sector that day."
    )
    market_share = models.FloatField(help_text="total_market_cap / sectors_market_cap: the rotation's RS.")

    VIEW = "sector_daily"

    class Meta:
        managed = False
        db_table = "sector_daily"
        ordering = ["snapshot_time", "sector"]
        verbose_name_plural = "sector days"

    def __str__(self):
        return f"{self.sector} {self.snapshot_time:%Y-%m-%d} {percent(self.market_share, fraction=True)}"
