from django.contrib import admin
from django.db.models import Count, F
from django.urls import reverse
from django.utils.html import format_html
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import (
    AIOutputAdmin,
    BaseAdmin,
    BaseInline,
    HistoryAdmin,
    InSampleFilter,
    SoftDeletedFilter,
)
from cryptopredict.choices import ActivityAction
from cryptopredict.filters import AutocompleteFilter
from cryptopredict.formatting import number

from .models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)
from .selectors import holdings_valued, portfolios_valued
from .services import watchlist_item_save

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

    def save_formset(self, request, form, formset, change):
        if formset.model is not WatchlistAsset:
            return super().save_formset(request, form, formset, change)
        changed = {}
        for inline_form in formset.forms:
            if inline_form.has_changed():
                self._stamp(inline_form.instance, request.user)
                changed[id(inline_form.instance)] = inline_form.changed_data  # unsaved rows do not hash
        # The items go through their service: their thresholds become alert rules, and each is
        # recorded in the audit trail.
        for item in formset.save(commit=False):
            item._history_user = request.user
            watchlist_item_save(item=item, actor=request.user, changed_fields=changed.get(id(item), ()))
        for item in formset.deleted_objects:
            item.delete()
        return None

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
    service_records = (ActivityAction.CREATE, ActivityAction.UPDATE)  # watchlist_item_save

    def save_model(self, request, obj, form, change):
        # What HistoryAdmin and BaseAdmin do before a save, then the item's service.
        obj._history_user = request.user
        self._stamp(obj, request.user)
        watchlist_item_save(item=obj, actor=request.user, changed_fields=form.changed_data)


@admin.register(Portfolio)
class PortfolioAdmin(HistoryAdmin, BaseAdmin):
    change_form_template = "admin/selection/portfolio/change_form.html"
    list_display = (
        "name",
        "user",
        "base_currency",
        "risk_profile",
        "holdings_value",
        "cash_shown",
        "value_with_cash",
        "unrealized_pnl",
        "total_cost_basis",
        "trades",
        "is_active",
    )
    list_filter = ("risk_profile", "base_currency", "is_public", "is_default", "is_active", SoftDeletedFilter)
    search_fields = ("name", "user__email")
    ordering = ("user__email", "name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    # Cached totals, recomputed by the service that executes trades.
    readonly_fields = (
        "total_value",
        "total_cost_basis",
        "holdings_value",
        "value_with_cash",
        "unrealized_pnl",
        "trades",
    )
    inlines = (HoldingInline,)

    def get_queryset(self, request):
        # Valued as the API values them: holdings at the latest close, plus cash.
        valued = portfolios_valued(super().get_queryset(request))
        return valued.annotate(value_with_cash=F("current_value") + F("cash_balance"))

    # Cash is set when the portfolio is made; afterwards only trades move it (trading.services).
    readonly_on_change = ("cash_balance",)

    @admin.display(description="holdings value", ordering="current_value")
    def holdings_value(self, obj):
        return number(getattr(obj, "current_value", None))

    @admin.display(description="cash", ordering="cash_balance")
    def cash_shown(self, obj):
        return number(obj.cash_balance)

    @admin.display(description="total with cash", ordering="value_with_cash")
    def value_with_cash(self, obj):
        return number(getattr(obj, "value_with_cash", None))

    @admin.display(description="unrealized PnL", ordering="unrealized_pnl")
    def unrealized_pnl(self, obj):
        return number(getattr(obj, "unrealized_pnl", None), signed=True)

    @admin.display(description="trades")
    def trades(self, obj):
        url = reverse("admin:trading_tradeaction_changelist")
        holdings = reverse("admin:selection_portfolioasset_changelist")
        link = '<a href="{}?portfolio__id__exact={}">{}</a>'
        return format_html(f"{link} · {link}", url, obj.pk, "trades", holdings, obj.pk, "holdings")


@admin.register(PortfolioAsset)
class PortfolioAssetAdmin(BaseAdmin):
    list_display = (
        "portfolio",
        "asset",
        "quantity",
        "average_buy_price",
        "price_now",
        "value_now",
        "cost_basis",
        "unrealized",
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
    readonly_fields = ("portfolio", "asset", *HOLDING_FIGURES, "price_now", "value_now", "unrealized")

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return holdings_valued(super().get_queryset(request))

    @admin.display(description="current price", ordering="current_price")
    def price_now(self, obj):
        return number(getattr(obj, "current_price", None))

    @admin.display(description="current value", ordering="current_value")
    def value_now(self, obj):
        return number(getattr(obj, "current_value", None))

    @admin.display(description="unrealized PnL", ordering="unrealized_pnl")
    def unrealized(self, obj):
        return number(getattr(obj, "unrealized_pnl", None), signed=True)


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
        "in_sample",
    )
    list_filter = (InSampleFilter, ("analysis_time", DateRangeFilter), "ai_model")
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
        "in_sample",
    )
    list_filter = (InSampleFilter, ("analysis_time", DateRangeFilter), "ai_model")
    search_fields = ("portfolio__name", "summary")
    ordering = ("-analysis_time",)
    list_select_related = ("portfolio", "ai_model")
    autocomplete_fields = ("portfolio", "ai_model")
    raw_id_fields = ("prediction_job",)
