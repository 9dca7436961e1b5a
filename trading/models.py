from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from cryptopredict.choices import Timeframe
from cryptopredict.formatting import moment, number
from cryptopredict.models import (
    AIAnalysisMixin,
    TimestampedModel,
    choices_check,
    range_check,
)

from .choices import ActionType, Recommendation, SignalStatus, SignalType, TradeStatus

PRICE = {"max_digits": 38, "decimal_places": 18}
MONEY = {"max_digits": 30, "decimal_places": 8}


class AITradingSignal(AIAnalysisMixin, TimestampedModel):
    asset = models.ForeignKey(
        "assets.Asset", on_delete=models.CASCADE, related_name="signals", db_index=False
    )
    ai_model = models.ForeignKey("ai.AIModel", on_delete=models.PROTECT, related_name="trading_signals")
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    regime_analysis = models.ForeignKey(
        "macro.AIRegimeAnalysis", on_delete=models.SET_NULL, null=True, blank=True, related_name="signals"
    )
    sector_analysis = models.ForeignKey(
        "sectors.AISectorAnalysis", on_delete=models.SET_NULL, null=True, blank=True, related_name="signals"
    )
    signal_type = models.CharField(max_length=4, choices=SignalType.choices)
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.D1, db_default=Timeframe.D1
    )
    strength = models.DecimalField(max_digits=5, decimal_places=4)
    entry_price = models.DecimalField(**PRICE, null=True, blank=True)
    target_price = models.DecimalField(**PRICE, null=True, blank=True)
    stop_loss = models.DecimalField(**PRICE, null=True, blank=True)
    risk_reward_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    time_horizon_hours = models.IntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10,
        choices=SignalStatus.choices,
        default=SignalStatus.ACTIVE,
        db_default=SignalStatus.ACTIVE,
    )
    generated_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reasoning = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_trading_signals"
        ordering = ["-generated_at"]
        verbose_name = "AI trading signal"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            models.CheckConstraint(condition=Q(strength__range=(0, 1)), name="chk_signal_strength"),
            *(
                range_check(field, low=0, low_open=True, name=f"chk_signal_{field}")
                for field in ("entry_price", "target_price", "stop_loss")
            ),
            # NOT NULL spelled out: a NULL price would make the comparison unknown, which passes a CHECK.
            models.CheckConstraint(
                condition=Q(signal_type=SignalType.HOLD)
                | Q(
                    signal_type=SignalType.BUY,
                    stop_loss__isnull=False,
                    entry_price__isnull=False,
                    target_price__isnull=False,
                    stop_loss__lt=F("entry_price"),
                    entry_price__lt=F("target_price"),
                )
                | Q(
                    signal_type=SignalType.SELL,
                    stop_loss__isnull=False,
                    entry_price__isnull=False,
                    target_price__isnull=False,
                    target_price__lt=F("entry_price"),
                    entry_price__lt=F("stop_loss"),
                ),
                name="chk_signal_price_logic",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("generated_at")), name="chk_signal_expiry"),
            range_check("time_horizon_hours", low=0, low_open=True, name="chk_signal_horizon"),
            choices_check("signal_type", SignalType, name="chk_signal_type"),
            choices_check("status", SignalStatus, name="chk_signal_status"),
            choices_check("timeframe", Timeframe, name="chk_signal_timeframe"),
        ]
        indexes = [
            models.Index(fields=["asset", "-generated_at"], name="idx_signal_asset_time"),
            models.Index(fields=["status", "expires_at"], name="idx_signal_status_expiry"),
        ]

    def __str__(self):
        price = f" @ {number(self.entry_price)}" if self.entry_price is not None else ""
        return f"{self.signal_type} {self.asset.symbol}{price} at {moment(self.generated_at)}"


class TradeAction(TimestampedModel):
    portfolio = models.ForeignKey(
        "selection.Portfolio", on_delete=models.CASCADE, related_name="trade_actions", db_index=False
    )
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="trade_actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trade_actions")
    signal = models.ForeignKey(
        AITradingSignal, on_delete=models.SET_NULL, null=True, blank=True, related_name="trade_actions"
    )
    action_type = models.CharField(max_length=4, choices=ActionType.choices)
    status = models.CharField(
        max_length=10,
        choices=TradeStatus.choices,
        default=TradeStatus.PENDING,
        db_default=TradeStatus.PENDING,
    )
    quantity = models.DecimalField(**MONEY)
    price = models.DecimalField(**PRICE)
    fee = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    fee_currency = models.CharField(max_length=10, default="USD", db_default="USD")
    total_value = models.DecimalField(**MONEY, help_text="quantity * price")
    executed_at = models.DateTimeField(null=True, blank=True)
    exchange = models.CharField(max_length=50, null=True, blank=True)
    external_order_id = models.CharField(max_length=100, null=True, blank=True)
    notes = models.TextField(blank=True, default="", db_default="")

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "trade_actions"
        ordering = ["-executed_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="chk_trade_quantity"),
            models.CheckConstraint(condition=Q(price__gt=0), name="chk_trade_price"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="chk_trade_fee"),
            models.CheckConstraint(
                condition=~Q(status=TradeStatus.EXECUTED) | Q(executed_at__isnull=False),
                name="chk_trade_executed_at",
            ),
            # An order id means something only on its exchange; without one, uniqueness could not hold.
            models.CheckConstraint(
                condition=Q(external_order_id__isnull=True) | Q(exchange__isnull=False),
                name="chk_trade_order_has_exchange",
            ),
            models.UniqueConstraint(
                fields=["exchange", "external_order_id"],
                condition=Q(external_order_id__isnull=False),
                name="unique_trade_external_order",
            ),
            choices_check("action_type", ActionType, name="chk_trade_action_type"),
            choices_check("status", TradeStatus, name="chk_trade_status"),
        ]
        indexes = [models.Index(fields=["portfolio", "-executed_at"], name="idx_trade_portfolio_time")]

    def __str__(self):
        return f"{self.action_type} {number(self.quantity)} {self.asset.symbol} @ {number(self.price)}"


class PortfolioAssetAnalysis(AIAnalysisMixin, TimestampedModel):
    portfolio_asset = models.ForeignKey(
        "selection.PortfolioAsset", on_delete=models.CASCADE, related_name="analyses"
    )
    ai_model = models.ForeignKey(
        "ai.AIModel", on_delete=models.PROTECT, related_name="portfolio_asset_analyses"
    )
    signal = models.ForeignKey(
        AITradingSignal,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="portfolio_asset_analyses",
    )
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices)
    suggested_allocation = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    risk_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    unrealized_pnl_pct = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "portfolio_asset_analyses"
        ordering = ["-analysis_time"]
        verbose_name_plural = "portfolio asset analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            range_check("suggested_allocation", low=0, high=100, name="chk_pa_analysis_allocation"),
            range_check("risk_score", low=0, high=100, name="chk_pa_analysis_risk"),
            choices_check("recommendation", Recommendation, name="chk_pa_analysis_recommendation"),
        ]

    def __str__(self):
        return f"{self.recommendation} {self.portfolio_asset} at {moment(self.analysis_time)}"
