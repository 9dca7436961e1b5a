from django.contrib import admin
from django.db.models import F

from cryptopredict.admin import BaseAdmin, CandleAdmin
from sectors.models import SectorMapping

from .models import Asset, PriceData, PriceDataArchive


class SectorMappingInline(admin.TabularInline):
    model = SectorMapping
    fields = ("sector", "weight", "is_primary", "confidence", "source")
    autocomplete_fields = ("sector",)
    extra = 0


@admin.register(Asset)
class AssetAdmin(BaseAdmin):
    list_display = (
        "symbol",
        "name",
        "asset_type",
        "market_cap_rank",
        "current_price",
        "market_cap",
        "price_change_percentage_24h",
        "total_volume",
        "is_active",
        "is_supported",
        "data_quality_score",
        "last_price_update",
    )
    list_display_links = ("symbol", "name")
    list_filter = ("asset_type", "is_active", "is_supported", "data_source")
    search_fields = ("symbol", "name")
    ordering = (F("market_cap_rank").asc(nulls_last=True), "symbol")
    inlines = (SectorMappingInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("symbol", "name"),
                    ("asset_type", "quote_currency"),
                    ("is_active", "is_supported"),
                    "description",
                    "logo_url",
                    "links",
                    "external_ids",
                )
            },
        ),
        (
            "Market",
            {
                "fields": (
                    ("current_price", "last_price_update"),
                    ("market_cap", "market_cap_rank"),
                    "total_volume",
                    (
                        "price_change_percentage_24h",
                        "price_change_percentage_7d",
                        "price_change_percentage_30d",
                    ),
                    ("ath", "ath_date"),
                    ("atl", "atl_date"),
                )
            },
        ),
        ("Supply", {"fields": ("circulating_supply", "total_supply", "max_supply")}),
        (
            "Data",
            {
                "classes": ("collapse",),
                "fields": (
                    ("data_source", "data_quality_score"),
                    "metrics_details",
                    ("access_count", "last_accessed_at"),
                    "timeframe_usage",
                    ("created_at", "updated_at"),
                ),
            },
        ),
    )
    readonly_fields = ("access_count", "last_accessed_at")


@admin.register(PriceData)
class PriceDataAdmin(CandleAdmin):
    pass


@admin.register(PriceDataArchive)
class PriceDataArchiveAdmin(CandleAdmin):
    list_display = (*CandleAdmin.list_display, "archived_at")
