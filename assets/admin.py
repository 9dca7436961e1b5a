from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import F
from django.shortcuts import redirect
from django.utils.text import capfirst
from rangefilter.filters import DateRangeFilter

from cryptopredict.admin import (
    BaseAdmin,
    CandleChangeList,
    ConstraintForm,
    EstimatedCountPaginator,
    HistoryAdmin,
    ReadOnlyAdmin,
    StreamedExportMixin,
    is_filtered,
)
from cryptopredict.choices import JobStatus
from cryptopredict.filters import AutocompleteFilter, ExistingTimeframeFilter
from cryptopredict.resources import resource_for

from .candle_columns import CANDLE_COLUMNS, OHLCV_COLUMNS
from .models import INDICATOR_FIELDS, Asset, AssetDeletion, IndicatorState, PriceData, PriceDataArchive
from .selectors import asset_deletion_summary, candle_orderings, candle_table_timeframes
from .services.deletion import asset_deletion_start
from .services.validation import candle_errors
from .services.writing import (
    IDENTITY,
    SOURCE_FIELDS,
    candle_create,
    candle_delete,
    candle_update,
    candles_delete,
)

PROTECTED_SHOWN = 20


class CandleAdmin(StreamedExportMixin, BaseAdmin):
    """The admin of a candle table at any size.

    No COUNT(*) and no deep OFFSET (EstimatedCountPaginator), no date drill-down, a search that
    finds the asset first, and sort headers only where an index does the sorting.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = ("asset", "timeframe", "candle_time", *OHLCV_COLUMNS, "is_validated")
    list_filter = (
        ("asset", AutocompleteFilter),
        ExistingTimeframeFilter,
        ("candle_time", DateRangeFilter),
        "is_validated",
    )
    list_select_related = ("asset",)
    search_fields = ("=asset__symbol",)
    search_help_text = "Exact asset symbol, e.g. BTC."
    # candle_time has its own index, so the first page comes from an index scan, not a sort.
    ordering = ("-candle_time",)
    raw_id_fields = ("asset",)

    def get_changelist(self, request, **kwargs):
        return CandleChangeList

    def timeframes_present(self) -> list[str]:
        """The timeframe filter's choices (price_data's from the latest-candle view)."""
        return candle_table_timeframes(model=self.model)

    def get_sortable_by(self, request):
        """Offer the sorts an index serves: see `assets.selectors.candle_orderings`."""
        return self.with_shown(candle_orderings(self.model, filtered=is_filtered(request)))

    def get_search_results(self, request, queryset, search_term):
        """Find the asset by its symbol first, then its candles through the (asset, ...) index.

        Matching `UPPER(assets.symbol)` in a join makes PostgreSQL consider every candle.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        asset_model = self.model._meta.get_field("asset").related_model
        asset_id = asset_model.objects.filter(symbol__iexact=term).values_list("pk", flat=True).first()
        return (queryset.filter(asset_id=asset_id) if asset_id else queryset.none()), False


@admin.register(Asset)
class AssetAdmin(HistoryAdmin, BaseAdmin):
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
    # The price chart (backoffice.views.candles_chart) stands above the fields.
    change_form_template = "admin/assets/asset/change_form.html"

    # --- Deleting: a summary by count, then a batched job (an asset may own millions of candles).

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        # The bulk action would say "deleted" while jobs are still running; assets go one by one.
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs, request):
        """Summarise what deleting `objs` deletes by model and count, never row by row."""
        summary = asset_deletion_summary(assets=objs)
        if summary.protected:
            shown = [f"{capfirst(o._meta.verbose_name)}: {o}" for o in summary.protected[:PROTECTED_SHOWN]]
            if len(summary.protected) > PROTECTED_SHOWN:
                shown.append(f"... and {len(summary.protected) - PROTECTED_SHOWN:,} more")
            return [], {}, set(), shown
        model_count = {str(m._meta.verbose_name_plural): n for m, n in summary.counts.items()}
        related = [
            f"{n:,} {name}" for name, n in model_count.items() if name != Asset._meta.verbose_name_plural
        ]
        deleted = [*(str(obj) for obj in objs), related]
        perms_needed = {
            str(model._meta.verbose_name)
            for model in summary.counts
            if not request.user.has_perm(f"{model._meta.app_label}.delete_{model._meta.model_name}")
        }
        return deleted, model_count, perms_needed, []

    def delete_model(self, request, obj):
        request._asset_deletion = asset_deletion_start(asset=obj, user=request.user)

    def response_delete(self, request, obj_display, obj_id):
        deletion = request._asset_deletion
        deletion.refresh_from_db()
        if deletion.status == JobStatus.COMPLETED:
            message = f"{obj_display} and its {deletion.candles_deleted:,} candles were deleted."
        else:
            message = f"{obj_display} is being deleted in batches; its progress is shown here."
        self.message_user(request, message, messages.SUCCESS)
        return redirect("admin:assets_assetdeletion_changelist")


# The leading columns of a candle export.
EXPORT_FIRST = ("asset", "timeframe", "candle_time", *OHLCV_COLUMNS)


class CandleForm(ConstraintForm):
    """Check a candle as the import service and the API do: aligned to its timeframe, OHLC consistent,
    with each message on the field at fault instead of a bare database constraint name."""

    def clean(self):
        cleaned = super().clean()
        if any(column in self.errors for column in ("timeframe", *CANDLE_COLUMNS.values())):
            return cleaned  # a value that did not parse already has its message

        def value(column):  # a read-only field (the identity of a stored candle) is not in the form
            return cleaned[column] if column in self.fields else getattr(self.instance, column, None)

        row = {key: value(column) for key, column in CANDLE_COLUMNS.items()}
        for key, errors in candle_errors(row, timeframe=value("timeframe")).items():
            column = CANDLE_COLUMNS.get(key)
            for message in errors:
                self.add_error(column if column in self.fields else None, message)
        return cleaned


@admin.register(AssetDeletion)
class AssetDeletionAdmin(ReadOnlyAdmin):
    """The deletions queued from an asset's delete page, with their progress."""

    list_display = (
        "symbol",
        "status",
        "progress",
        "candles_deleted",
        "candles_total",
        "requested_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("requested_by",)
    search_fields = ("symbol",)

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_percent}%"


@admin.register(PriceData)
class PriceDataAdmin(CandleAdmin):
    """Candles are written by the candle service (assets.services.writing): a changed candle loses
    its validation and its indicators, and they and the later candles' are computed again."""

    form = CandleForm
    resource_classes = [resource_for(PriceData, first=EXPORT_FIRST, asset="asset__symbol")]
    list_display = (*CandleAdmin.list_display, "is_price_point")
    list_filter = (*CandleAdmin.list_filter, "is_price_point")

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "technical_indicators"]
        return fields + list(IDENTITY) if obj is not None else fields

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name]
            for name in (*SOURCE_FIELDS, "is_validated")
            if name in form.cleaned_data
        }
        if change:
            changes = {name: value for name, value in values.items() if name in form.changed_data}
            candle = candle_update(candle=obj, changes=changes)
        else:
            candle = candle_create(
                asset=obj.asset, timeframe=obj.timeframe, candle_time=obj.candle_time, **values
            )
        obj.pk, obj.is_validated = candle.pk, candle.is_validated
        for name in INDICATOR_FIELDS:
            setattr(obj, name, getattr(candle, name))
        obj._state.adding = False

    def delete_model(self, request, obj):
        candle_delete(candle=obj)

    def delete_queryset(self, request, queryset):
        candles_delete(candles=queryset)


@admin.register(PriceDataArchive)
class PriceDataArchiveAdmin(CandleAdmin):
    form = CandleForm
    resource_classes = [resource_for(PriceDataArchive, first=EXPORT_FIRST, asset="asset__symbol")]
    list_display = (*CandleAdmin.list_display, "archived_at")


@admin.register(IndicatorState)
class IndicatorStateAdmin(ReadOnlyAdmin):
    """Each candle series' indicator watermark: a stale range is what the next refresh computes."""

    list_display = ("asset", "timeframe", "stale_from", "stale_until", "computed_at", "version")
    list_filter = ("timeframe",)
    list_select_related = ("asset",)
    search_fields = ("=asset__symbol",)
    ordering = ("asset__symbol", "timeframe")
