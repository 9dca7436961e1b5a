from django.contrib import admin
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import AIOutputAdmin, BaseAdmin, HistoryAdmin, InSampleFilter
from cryptopredict.filters import AutocompleteFilter

from .choices import TradeStatus
from .models import AITradingSignal, PortfolioAssetAnalysis, TradeAction
from .services import signal_risk_reward


@admin.register(AITradingSignal)
class AITradingSignalAdmin(AIOutputAdmin):
    list_display = (
        "generated_at",
        "asset",
        "signal_type",
        "timeframe",
        "strength",
        "entry_price",
        "target_price",
        "stop_loss",
        "risk_reward_ratio",
        "status",
        "expires_at",
        "ai_model",
        "in_sample",
    )
    list_filter = (
        InSampleFilter,
        ("asset", AutocompleteFilter),
        ("generated_at", DateRangeFilter),
        "signal_type",
        "status",
        "timeframe",
        "ai_model",
    )
    search_fields = ("=asset__symbol", "asset__name")
    ordering = ("-generated_at",)
    list_select_related = ("asset", "ai_model")
    autocomplete_fields = ("asset", "ai_model")
    raw_id_fields = ("prediction_job", "regime_analysis", "sector_analysis")
    readonly_fields = ("risk_reward_ratio",)

    def save_model(self, request, obj, form, change):
        obj.risk_reward_ratio = signal_risk_reward(
            signal_type=obj.signal_type,
            entry_price=obj.entry_price,
            target_price=obj.target_price,
            stop_loss=obj.stop_loss,
        )
        super().save_model(request, obj, form, change)


@admin.register(TradeAction)
class TradeActionAdmin(HistoryAdmin, BaseAdmin):
    """Trades are recorded and executed by trading.services (it moves holdings and cash); here they
    are read and annotated only."""

    list_display = (
        "created_at",
        "portfolio",
        "user",
        "asset",
        "action_type",
        "status",
        "quantity",
        "price",
        "fee",
        "total_value",
        "executed_at",
        "exchange",
    )
    list_filter = (
        ("asset", AutocompleteFilter),
        ("portfolio", AutocompleteFilter),
        ("executed_at", DateRangeFilter),
        "action_type",
        "status",
        "exchange",
    )
    search_fields = ("=asset__symbol", "portfolio__name", "user__email", "=external_order_id")
    ordering = ("-created_at",)
    list_select_related = ("portfolio", "user", "asset")
    readonly_fields = (
        "portfolio",
        "asset",
        "user",
        "signal",
        "action_type",
        "status",
        "quantity",
        "price",
        "fee",
        "fee_currency",
        "total_value",
        "executed_at",
        "exchange",
        "external_order_id",
    )

    # The bulk delete action would bypass the per-trade check below.
    actions = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting an executed trade would leave holdings and cash that no trade explains.
        if obj is not None and obj.status == TradeStatus.EXECUTED:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(PortfolioAssetAnalysis)
class PortfolioAssetAnalysisAdmin(AIOutputAdmin):
    list_display = (
        "analysis_time",
        "portfolio_asset",
        "recommendation",
        "suggested_allocation",
        "risk_score",
        "unrealized_pnl_pct",
        "ai_confidence_score",
        "ai_model",
        "in_sample",
    )
    list_filter = (InSampleFilter, ("analysis_time", DateRangeFilter), "recommendation", "ai_model")
    search_fields = ("=portfolio_asset__asset__symbol", "portfolio_asset__portfolio__name", "summary")
    ordering = ("-analysis_time",)
    list_select_related = ("portfolio_asset__asset", "portfolio_asset__portfolio", "ai_model")
    autocomplete_fields = ("ai_model",)
    raw_id_fields = ("portfolio_asset", "signal", "prediction_job")
