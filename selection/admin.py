from django.contrib import admin
from django.db.models import Count
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import AIOutputAdmin, BaseAdmin, BaseInline, HistoryAdmin, SoftDeletedFilter
from cryptopredict.filters import AutocompleteFilter

from .models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)

# What only trading.services writes when it executes trades: a position is never typed in.
HOLDING_FIGURES = (
    "quantity",
    "average_buy_price",
    "cost_basis",
    "realized_pnl",
    "first_purchase_at",
    "last_transaction_at",
)


class WatchlistItemInline(BaseInline):
    model = WatchlistAsset
    fields = ("asset", "sort_order", "target_price", "alert_price_above", "alert_price_below", "notes")
    autocomplete_fields = ("asset",)


class HoldingInline(BaseInline):
    """Holdings move only through executed trades (trading.services); here only targets are set."""

    model = PortfolioAsset
    fields = ("asset", *HOLDING_FIGURES[:4], "target_allocation", "last_transaction_at")
    readonly_fields = ("asset", *HOLDING_FIGURES)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Watchlist)
class WatchlistAdmin(HistoryAdmin, BaseAdmin):
    list_display = ("name", "user", "item_count", "is_default", "is_public", "is_active", "deleted_at")
    list_filter = ("is_public", "is_default", "is_active", SoftDeletedFilter)
    search_fields = ("name", "user__email")
    ordering = ("user__email", "sort_order", "name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    inlines = (WatchlistItemInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description="items", ordering="item_count")
    def item_count(self, obj):
        return obj.item_count


@admin.register(WatchlistAsset)
class WatchlistAssetAdmin(HistoryAdmin, BaseAdmin):
    list_display = (
        "watchlist",
        "asset",
        "sort_order",
        "target_price",
        "alert_price_above",
        "alert_price_below",
        "updated_at",
    )
    list_filter = (("asset", AutocompleteFilter), "watchlist__is_public")
    search_fields = ("watchlist__name", "asset__symbol", "asset__name")
    ordering = ("watchlist__name", "sort_order")
    list_select_related = ("watchlist", "asset")
    autocomplete_fields = ("watchlist", "asset")


@admin.register(Portfolio)
class PortfolioAdmin(HistoryAdmin, BaseAdmin):
    list_display = (
        "name",
        "user",
        "base_currency",
        "risk_profile",
        "total_value",
        "total_cost_basis",
        "cash_balance",
        "track_cash",
        "is_default",
        "is_active",
        "deleted_at",
    )
    list_filter = ("risk_profile", "base_currency", "is_public", "is_default", "is_active", SoftDeletedFilter)
    search_fields = ("name", "user__email")
    ordering = ("user__email", "name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    # Cached totals, recomputed by the service that executes trades.
    readonly_fields = ("total_value", "total_cost_basis")
    inlines = (HoldingInline,)


@admin.register(PortfolioAsset)
class PortfolioAssetAdmin(BaseAdmin):
    list_display = (
        "portfolio",
        "asset",
        "quantity",
        "average_buy_price",
        "cost_basis",
        "realized_pnl",
        "target_allocation",
        "last_transaction_at",
    )
    list_filter = (
        ("asset", AutocompleteFilter),
        ("portfolio", AutocompleteFilter),
        "portfolio__risk_profile",
    )
    search_fields = ("portfolio__name", "asset__symbol", "asset__name")
    ordering = ("portfolio__name", "asset__symbol")
    list_select_related = ("portfolio", "asset")
    # Holdings move only through executed trades (trading.services); here only targets are set.
    readonly_fields = ("portfolio", "asset", *HOLDING_FIGURES)

    def has_add_permission(self, request):
        return False


@admin.register(AIWatchlistAnalysis)
class AIWatchlistAnalysisAdmin(AIOutputAdmin):
    list_display = (
        "analysis_time",
        "watchlist",
        "overall_score",
        "diversification_score",
        "risk_score",
        "ai_confidence_score",
        "ai_model",
    )
    list_filter = (("analysis_time", DateRangeFilter), "ai_model")
    search_fields = ("watchlist__name", "summary")
    ordering = ("-analysis_time",)
    list_select_related = ("watchlist", "ai_model")
    autocomplete_fields = ("watchlist", "ai_model")
    raw_id_fields = ("prediction_job",)


@admin.register(AIPortfolioAnalysis)
class AIPortfolioAnalysisAdmin(AIOutputAdmin):
    list_display = (
        "analysis_time",
        "portfolio",
        "portfolio_value",
        "expected_return",
        "volatility",
        "sharpe_ratio",
        "max_drawdown",
        "risk_score",
        "ai_model",
    )
    list_filter = (("analysis_time", DateRangeFilter), "ai_model")
    search_fields = ("portfolio__name", "summary")
    ordering = ("-analysis_time",)
    list_select_related = ("portfolio", "ai_model")
    autocomplete_fields = ("portfolio", "ai_model")
    raw_id_fields = ("prediction_job",)
