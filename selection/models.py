from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from cryptopredict.formatting import moment, number
from cryptopredict.models import (
    ActiveMixin,
    AIAnalysisMixin,
    SoftDeleteMixin,
    TimestampedModel,
    UserTrackingMixin,
    choices_check,
    range_check,
)

from .choices import RiskProfile

PRICE = {"max_digits": 38, "decimal_places": 18}
MONEY = {"max_digits": 30, "decimal_places": 8}
SCORE = {"max_digits": 5, "decimal_places": 2}  # a score in [0, 100]


def owned_list_constraints(prefix: str) -> list:
    """Return the rules a user's watchlists and portfolios share: unique live names, one default."""
    return [
        models.UniqueConstraint(
            fields=["user", "name"], condition=Q(deleted_at__isnull=True), name=f"unique_{prefix}_name"
        ),
        models.UniqueConstraint(
            fields=["user"],
            condition=Q(is_default=True, deleted_at__isnull=True),
            name=f"unique_{prefix}_default",
        ),
    ]


class Watchlist(ActiveMixin, SoftDeleteMixin, TimestampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="", db_default="")
    is_default = models.BooleanField(default=False, db_default=False)
    is_public = models.BooleanField(default=False, db_default=False)
    sort_order = models.IntegerField(default=0, db_default=0)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "watchlists"
        ordering = ["user", "sort_order", "name"]
        constraints = owned_list_constraints("watchlist")

    def __str__(self):
        return self.name


class WatchlistAsset(UserTrackingMixin, TimestampedModel):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items", db_index=False)
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="watchlist_assets")
    sort_order = models.IntegerField(default=0, db_default=0)
    notes = models.TextField(blank=True, default="", db_default="")
    target_price = models.DecimalField(**PRICE, null=True, blank=True)
    alert_price_above = models.DecimalField(**PRICE, null=True, blank=True)
    alert_price_below = models.DecimalField(**PRICE, null=True, blank=True)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "watchlist_assets"
        ordering = ["watchlist", "sort_order", "id"]
        verbose_name = "watchlist item"
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "asset"], name="unique_watchlist_asset"),
            *(
                range_check(field, low=0, low_open=True, name=f"chk_watchlist_asset_{field}")
                for field in ("target_price", "alert_price_above", "alert_price_below")
            ),
            models.CheckConstraint(
                condition=Q(alert_price_below__isnull=True)
                | Q(alert_price_above__isnull=True)
                | Q(alert_price_below__lt=F("alert_price_above")),
                name="chk_watchlist_asset_alert_order",
            ),
        ]

    def __str__(self):
        return f"{self.asset} in {self.watchlist}"


class Portfolio(ActiveMixin, SoftDeleteMixin, TimestampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="", db_default="")
    base_currency = models.CharField(max_length=10, default="USD", db_default="USD")
    is_default = models.BooleanField(default=False, db_default=False)
    is_public = models.BooleanField(default=False, db_default=False)
    risk_profile = models.CharField(
        max_length=12,
        choices=RiskProfile.choices,
        default=RiskProfile.MODERATE,
        db_default=RiskProfile.MODERATE,
    )
    # When on, a buy must be covered by cash_balance and a sell adds to it.
    track_cash = models.BooleanField(default=False, db_default=False)
    cash_balance = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    # Cached totals, recomputed by the service that executes trades.
    total_value = models.DecimalField(**MONEY, default=0, db_default=0)
    total_cost_basis = models.DecimalField(**MONEY, default=0, db_default=0)

    # Old and new values of each change (django-simple-history); pruned by clean_old_history.
    change_history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        db_table = "portfolios"
        ordering = ["user", "name"]
        constraints = [
            *owned_list_constraints("portfolio"),
            models.CheckConstraint(condition=Q(cash_balance__gte=0), name="chk_portfolio_cash"),
            choices_check("risk_profile", RiskProfile, name="chk_portfolio_risk_profile"),
        ]

    def __str__(self):
        return self.name


class PortfolioAsset(TimestampedModel):
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="holdings", db_index=False
    )
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="portfolio_assets")
    quantity = models.DecimalField(**MONEY, default=0, db_default=0)
    average_buy_price = models.DecimalField(**PRICE, default=0, db_default=0)
    cost_basis = models.DecimalField(**MONEY, default=0, db_default=0)
    realized_pnl = models.DecimalField(**MONEY, default=0, db_default=0)
    target_allocation = models.DecimalField(**SCORE, null=True, blank=True)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_transaction_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portfolio_assets"
        ordering = ["portfolio", "asset"]
        verbose_name = "holding"
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "asset"], name="unique_portfolio_asset"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="chk_holding_quantity"),
            models.CheckConstraint(condition=Q(average_buy_price__gte=0), name="chk_holding_avg_price"),
            models.CheckConstraint(condition=Q(cost_basis__gte=0), name="chk_holding_cost_basis"),
            range_check("target_allocation", low=0, high=100, name="chk_holding_target_allocation"),
        ]

    def __str__(self):
        return f"{number(self.quantity)} {self.asset.symbol} in {self.portfolio}"


class AIWatchlistAnalysis(AIAnalysisMixin, TimestampedModel):
    watchlist = models.ForeignKey(
        Watchlist, on_delete=models.CASCADE, related_name="ai_analyses", db_index=False
    )
    ai_model = models.ForeignKey("ai.AIModel", on_delete=models.PROTECT, related_name="watchlist_analyses")
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    overall_score = models.DecimalField(**SCORE, null=True, blank=True)
    diversification_score = models.DecimalField(**SCORE, null=True, blank=True)
    risk_score = models.DecimalField(**SCORE, null=True, blank=True)
    asset_scores = models.JSONField(default=dict, db_default={}, blank=True, help_text="Asset id -> score.")
    recommendations = models.JSONField(default=list, db_default=[], blank=True)
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_watchlist_analyses"
        ordering = ["-analysis_time"]
        verbose_name = "AI watchlist analysis"
        verbose_name_plural = "AI watchlist analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            *(
                range_check(field, low=0, high=100, name=f"chk_watchlist_analysis_{field}")
                for field in ("overall_score", "diversification_score", "risk_score")
            ),
        ]
        indexes = [models.Index(fields=["watchlist", "-analysis_time"], name="idx_watchlist_analysis_time")]

    def __str__(self):
        return f"{self.watchlist} scored {number(self.overall_score)} at {moment(self.analysis_time)}"


class AIPortfolioAnalysis(AIAnalysisMixin, TimestampedModel):
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="ai_analyses", db_index=False
    )
    ai_model = models.ForeignKey("ai.AIModel", on_delete=models.PROTECT, related_name="portfolio_analyses")
    prediction_job = models.ForeignKey(
        "ai.ModelPredictionJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysis_time = models.DateTimeField()
    portfolio_value = models.DecimalField(**MONEY, null=True, blank=True)
    risk_score = models.DecimalField(**SCORE, null=True, blank=True)
    diversification_score = models.DecimalField(**SCORE, null=True, blank=True)
    expected_return = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    volatility = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    sharpe_ratio = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    max_drawdown = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    rebalancing = models.JSONField(
        default=dict, db_default={}, blank=True, help_text="Asset id -> target weight and action."
    )
    summary = models.TextField(blank=True, default="", db_default="")

    class Meta(AIAnalysisMixin.Meta):
        db_table = "ai_portfolio_analyses"
        ordering = ["-analysis_time"]
        verbose_name = "AI portfolio analysis"
        verbose_name_plural = "AI portfolio analyses"
        constraints = [
            *AIAnalysisMixin.Meta.constraints,
            range_check("risk_score", low=0, high=100, name="chk_portfolio_analysis_risk"),
            range_check("diversification_score", low=0, high=100, name="chk_portfolio_analysis_div"),
            range_check("max_drawdown", low=0, high=1, name="chk_portfolio_analysis_drawdown"),
        ]
        indexes = [models.Index(fields=["portfolio", "-analysis_time"], name="idx_portfolio_analysis_time")]

    def __str__(self):
        return f"{self.portfolio} at {moment(self.analysis_time)}"
