from datetime import UTC, datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import AIOutputAdmin, BaseAdmin, InSampleFilter

from . import selectors
from .models import AIRegimeAnalysis, MetricsSnapshot


class RegimeChartQuery(forms.Form):
    """The query of the regime chart: which model, calls up to when, how many, in-sample too."""

    DEFAULT_LIMIT = 1000

    model = forms.IntegerField(required=False, min_value=1)
    end = forms.IntegerField(required=False, min_value=0, help_text="Unix seconds, UTC.")
    limit = forms.IntegerField(required=False, min_value=1, max_value=5000)
    in_sample = forms.BooleanField(required=False)


@admin.register(MetricsSnapshot)
class MetricsSnapshotAdmin(BaseAdmin):
    list_display = (
        "snapshot_time",
        "timeframe",
        "btc_price_usd",
        "btc_dominance",
        "total_market_cap",
        "fear_greed_index",
        "rsi_14",
        "funding_rate_btc",
        "has_anomalies",
        "is_validated",
        "data_source",
    )
    list_filter = ("timeframe", "has_anomalies", "is_validated", "data_source")
    search_fields = ("=timeframe", "snapshot_version", "data_source")
    search_help_text = "Timeframe (exact, e.g. 1d), snapshot version or data source."
    ordering = ("-snapshot_time",)
    date_hierarchy = "snapshot_time"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("snapshot_time", "timeframe"),
                    ("snapshot_version", "data_source"),
                    ("is_validated", "has_anomalies"),
                    "data_quality_flags",
                )
            },
        ),
        (
            "Bitcoin",
            {
                "fields": (
                    ("btc_price_usd", "rsi_14"),
                    ("sma_200", "ema_200"),
                    ("funding_rate_btc", "open_interest_btc"),
                    ("whale_netflow_24h", "active_addresses_btc"),
                    "halving_countdown_days",
                )
            },
        ),
        (
            "Market",
            {
                "fields": (
                    "total_market_cap",
                    ("btc_dominance", "eth_dominance", "usdt_dominance", "altcoin_dominance"),
                    ("weekly_return", "monthly_return"),
                    ("liquidity_score", "momentum_index"),
                    ("crypto_market_breadth", "new_highs_24h", "new_lows_24h"),
                )
            },
        ),
        ("Sentiment", {"fields": (("fear_greed_index", "google_trends_score"),)}),
        (
            "Traditional markets",
            {
                "fields": (
                    ("sp500", "gold", "dxy"),
                    ("us_10y_yield", "vix_index"),
                    ("btc_eth_correlation_30d", "btc_sp500_correlation_30d"),
                )
            },
        ),
        (
            "Liquidations",
            {"fields": (("liquidations_long", "liquidations_short"), "liquidation_zones")},
        ),
        (
            "Collection",
            {
                "classes": ("collapse",),
                "fields": (
                    "extended_metrics",
                    ("data_collection_started", "data_collection_completed", "collection_duration_ms"),
                    ("created_at", "updated_at"),
                ),
            },
        ),
    )


@admin.register(AIRegimeAnalysis)
class AIRegimeAnalysisAdmin(AIOutputAdmin):
    import_export_change_list_template = "admin/macro/airegimeanalysis/change_list.html"  # + the chart
    list_display = (
        "analysis_time",
        "metrics_snapshot",
        "regime",
        "previous_regime",
        "regime_changed",
        "regime_duration_days",
        "trend_strength",
        "volatility_level",
        "risk_level",
        "ai_confidence_score",
        "ai_model",
        "in_sample",
    )
    list_filter = (
        InSampleFilter,
        ("analysis_time", DateRangeFilter),
        "regime",
        "regime_changed",
        "risk_level",
        "volatility_level",
        "ai_model",
    )
    search_fields = ("=regime", "summary", "ai_model__name")
    ordering = ("-analysis_time",)
    list_select_related = ("metrics_snapshot", "ai_model")
    autocomplete_fields = ("ai_model",)
    raw_id_fields = ("metrics_snapshot", "prediction_job")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("chart/", wrap(self.regime_chart_page), name="macro_airegimeanalysis_chart"),
            path("chart/data/", wrap(self.regime_chart_view), name="macro_airegimeanalysis_chart_data"),
            *super().get_urls(),
        ]

    def regime_chart_page(self, request):
        """Show BTC's price under each day's regime and the regime probabilities, per model."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Market regimes",
            "models": selectors.regime_models(),
        }
        return TemplateResponse(request, "admin/macro/airegimeanalysis/regimes.html", context)

    def regime_chart_view(self, request):
        """Answer one window of a model's regime calls (not in-sample unless asked) as JSON."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = RegimeChartQuery(request.GET)
        if not query.is_valid():
            return JsonResponse(query.errors, status=400)
        models = selectors.regime_models()
        wanted = query.cleaned_data["model"]
        model = next((m for m in models if m.pk == wanted), None) if wanted else next(iter(models), None)
        if model is None and wanted:
            return JsonResponse({"model": [f"No regime model with id {wanted}."]}, status=400)
        end = query.cleaned_data["end"]
        window = (
            selectors.regime_chart_window(
                model=model,
                end=None if end is None else datetime.fromtimestamp(end, UTC),
                limit=query.cleaned_data["limit"] or RegimeChartQuery.DEFAULT_LIMIT,
                in_sample=query.cleaned_data["in_sample"],
            )
            if model
            else {"time": [], "regime": [], "price": [], "probabilities": {}, "more": False}
        )
        return JsonResponse(
            {
                "model": None if model is None else {"id": model.pk, "name": str(model)},
                "models": [{"id": m.pk, "name": str(m)} for m in models],
                **window,
            }
        )
