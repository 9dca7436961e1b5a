from django.db import models
from django.db.models import Q

from cryptopredict.choices import Timeframe
from cryptopredict.formatting import moment
from cryptopredict.models import (
    AIAnalysisMixin,
    TimestampedModel,
    ValidationMixin,
    choices_check,
    range_check,
)

from .choices import MarketRegime, RiskLevel


def _decimal(digits: int, places: int, **kwargs):
    return models.DecimalField(max_digits=digits, decimal_places=places, null=True, blank=True, **kwargs)


class MetricsSnapshot(ValidationMixin, TimestampedModel):
    snapshot_time = models.DateTimeField()
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, db_index=True)
    btc_price_usd = models.DecimalField(max_digits=38, decimal_places=18)

    rsi_14 = _decimal(5, 2)
    sma_200 = _decimal(30, 8)
    ema_200 = _decimal(30, 8)

    fear_greed_index = _decimal(5, 2)
    google_trends_score = _decimal(5, 2)

    funding_rate_btc = _decimal(10, 6)
    open_interest_btc = _decimal(30, 2)

    whale_netflow_24h = _decimal(30, 2)
    active_addresses_btc = models.IntegerField(null=True, blank=True)

    altcoin_dominance = _decimal(5, 2)
    liquidity_score = _decimal(10, 6)

    halving_countdown_days = models.IntegerField(null=True, blank=True)
    weekly_return = _decimal(5, 4)
    monthly_return = _decimal(5, 4)

    btc_dominance = _decimal(5, 2)
    eth_dominance = _decimal(5, 2)
    usdt_dominance = _decimal(5, 2)
    total_market_cap = _decimal(18, 2)

    sp500 = _decimal(10, 2)
    gold = _decimal(10, 2)
    dxy = _decimal(10, 2)

    liquidations_long = _decimal(30, 2)
    liquidations_short = _decimal(30, 2)
    liquidation_zones = models.JSONField(null=True, blank=True, default=list, db_default=[])

    extended_metrics = models.JSONField(null=True, blank=True, default=dict, db_default={})

    btc_eth_correlation_30d = _decimal(6, 4)
    btc_sp500_correlation_30d = _decimal(6, 4)
    us_10y_yield = _decimal(8, 4)
    vix_index = _decimal(8, 4)

    crypto_market_breadth = _decimal(6, 2)
    new_highs_24h = models.IntegerField(null=True, blank=True)
    new_lows_24h = models.IntegerField(null=True, blank=True)
    momentum_index = _decimal(8, 4)

    data_quality_flags = models.JSONField(null=True, blank=True, default=dict, db_default={})
    snapshot_version = models.CharField(max_length=50, null=True, blank=True)
    has_anomalies = models.BooleanField(default=False, db_default=False)
    data_source = models.CharField(max_length=20, default="aggregated", db_default="aggregated")

    data_collection_started = models.DateTimeField(null=True, blank=True)
    data_collection_completed = models.DateTimeField(null=True, blank=True)
    collection_duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "metrics_snapshot"
        ordering = ["-snapshot_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot_time", "timeframe"], name="unique_snapshot_time_timeframe"
            ),
            range_check("fear_greed_index", low=0, high=100, name="chk_fear_greed_range"),
            range_check("btc_dominance", low=0, high=100, name="chk_dominance_range"),
            models.CheckConstraint(condition=Q(btc_price_usd__gt=0), name="chk_btc_price_positive"),
            range_check("collection_duration_ms", low=0, name="chk_collection_duration"),
            choices_check("timeframe", Timeframe, name="chk_metrics_snapshot_timeframe"),
        ]
        indexes = [models.Index(fields=["btc_price_usd"], name="idx_metrics_snapshot_btc_price")]

    def __str__(self):
        return f"{self.timeframe} snapshot {moment(self.snapshot_time)}"


class AIRegimeAnalysis(AIAnalysisMixin, TimestampedModel):
    metrics_snapshot = models.ForeignKey(
        MetricsSnapshot, on_delete=models.CASCADE, related_name="regime_analyses"
    )
    ai_model = models.ForeignKey(
        "ai.AIModel", on_delete=models.PROTECT, related_name="regime_analyses", db_index=False
    )
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    regime = models.CharField(max_length=20, choices=MarketRegime.choices)
    # regime -> probability, summing to 1 within 0.01 (checked by the service that writes them).
    regime_probabilities = models.JSONField(default=dict, db_default={}, blank=True)
    previous_regime = models.CharField(max_length=20, choices=MarketRegime.choices, null=True, blank=True)
    regime_changed = models.BooleanField(default=False, db_default=False)
    regime_duration_days = models.IntegerField(default=0, db_default=0)
    trend_strength = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    volatility_level = models.CharField(max_length=10, choices=RiskLevel.choices, null=True, blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, null=True, blank=True)
    key_drivers = models.JSONField(default=list, db_default=[], blank=True)
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_regime_analyses"
        ordering = ["-analysis_time"]
        verbose_name = "AI regime analysis"
        verbose_name_plural = "AI regime analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            models.UniqueConstraint(
                fields=["metrics_snapshot", "ai_model"], name="unique_regime_snapshot_model"
            ),
            choices_check("regime", MarketRegime, name="chk_regime_regime"),
            choices_check("previous_regime", MarketRegime, name="chk_regime_previous", null=True),
            choices_check("volatility_level", RiskLevel, name="chk_regime_volatility", null=True),
            choices_check("risk_level", RiskLevel, name="chk_regime_risk", null=True),
            models.CheckConstraint(condition=Q(regime_duration_days__gte=0), name="chk_regime_duration"),
            range_check("trend_strength", low=-1, high=1, name="chk_regime_trend_strength"),
        ]
        indexes = [models.Index(fields=["ai_model", "-analysis_time"], name="idx_regime_model_time")]

    def __str__(self):
        return f"{self.regime} at {moment(self.analysis_time)}"
