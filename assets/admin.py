from django.contrib import admin
from django.db.models import F

from cryptopredict.admin import BaseAdmin, CandleAdmin, ConstraintForm

from .api.serializers import CANDLE_KEYS
from .models import Asset, PriceData, PriceDataArchive
from .services.validation import candle_errors


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
    # sectors.admin adds the sector mappings inline: that app sits above this one.
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


class CandleForm(ConstraintForm):
    """Check a candle as the import service and the API do: aligned to its timeframe, OHLC consistent,
    with each message on the field at fault instead of a bare database constraint name."""

    def clean(self):
        cleaned = super().clean()
        if any(column in self.errors for column in ("timeframe", *CANDLE_KEYS.values())):
            return cleaned  # a value that did not parse already has its message
        row = {key: cleaned.get(column) for key, column in CANDLE_KEYS.items()}
        for key, messages in candle_errors(row, timeframe=cleaned.get("timeframe")).items():
            column = CANDLE_KEYS.get(key)
            for message in messages:
                self.add_error(column if column in self.fields else None, message)
        return cleaned


@admin.register(PriceData)
class PriceDataAdmin(CandleAdmin):
    form = CandleForm


@admin.register(PriceDataArchive)
class PriceDataArchiveAdmin(CandleAdmin):
    form = CandleForm
    list_display = (*CandleAdmin.list_display, "archived_at")
