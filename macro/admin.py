from django.contrib import admin
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import AIOutputAdmin, BaseAdmin, InSampleFilter

from .models import AIRegimeAnalysis, MetricsSnapshot


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
