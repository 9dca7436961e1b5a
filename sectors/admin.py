from datetime import UTC, datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from rangefilter.filters import DateRangeFilter

from assets.models import Asset
from cryptopredict.admin import (
    AIOutputAdmin,
    BaseAdmin,
    BaseInline,
    ConstraintForm,
    HistoryAdmin,
    InSampleFilter,
)
from cryptopredict.filters import AutocompleteFilter

from .models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)
from .selectors import sector_rotation
from .services import sector_mapping_weight_error

ANALYSIS_RAW_IDS = ("metrics_snapshot", "prediction_job")


class SectorMappingForm(ConstraintForm):
    """A mapping form that also keeps an asset's sector weights within 100 (sectors.services)."""

    def clean(self):
        cleaned = super().clean()
        asset = cleaned.get("asset") or getattr(self.instance, "asset", None)
        if asset is not None and cleaned.get("weight") is not None:
            error = sector_mapping_weight_error(
                asset=asset, weight=cleaned["weight"], mapping_id=self.instance.pk
            )
            if error:
                self.add_error("weight", error)
        return cleaned


class SectorMappingInline(BaseInline):
    model = SectorMapping
    form = SectorMappingForm
    fields = ("asset", "weight", "is_primary", "confidence", "source")
    autocomplete_fields = ("asset",)


class AssetSectorMappingInline(BaseInline):
    model = SectorMapping
    form = SectorMappingForm
    fields = ("sector", "weight", "is_primary", "confidence", "source")
    autocomplete_fields = ("sector",)


# The asset page edits the asset's sector mappings too. Assets sits below sectors and cannot name
# them, so this app adds its inline to the registered asset admin (assets' admin loads first).
_asset_admin = admin.site.get_model_admin(Asset)
_asset_admin.inlines = (*_asset_admin.inlines, AssetSectorMappingInline)


class RotationFlowInline(BaseInline):
    model = SectorRotationFlow
    fk_name = "cross_analysis"
    fields = ("from_sector", "to_sector", "flow_strength", "estimated_flow_usd", "confidence", "detected_at")
    autocomplete_fields = ("from_sector", "to_sector")


class RotationChartQuery(forms.Form):
    """The query of the rotation chart: days up to when, how many."""

    DEFAULT_DAYS = 180

    end = forms.IntegerField(required=False, min_value=0, help_text="Unix seconds, UTC.")
    days = forms.IntegerField(required=False, min_value=2, max_value=2000)


@admin.register(Sector)
class SectorAdmin(HistoryAdmin, BaseAdmin):
    import_export_change_list_template = "admin/sectors/sector/change_list.html"  # + the chart
    list_display = (
        "name",
        "slug",
        "parent",
        "asset_count",
        "total_market_cap",
        "total_volume_24h",
        "sort_order",
        "is_active",
    )
    list_filter = ("is_active", "parent")
    search_fields = ("name", "slug")
    ordering = ("sort_order", "name")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (SectorMappingInline,)
    # Cached totals, recomputed by sectors.services.
    readonly_fields = ("total_market_cap", "total_volume_24h", "asset_count")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("chart/", wrap(self.rotation_page), name="sectors_sector_chart"),
            path("chart/data/", wrap(self.rotation_view), name="sectors_sector_chart_data"),
            *super().get_urls(),
        ]

    def rotation_page(self, request):
        """Show the sectors' relative-rotation graph and their index lines."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Sector rotation"}
        return TemplateResponse(request, "admin/sectors/sector/rotation.html", context)

    def rotation_view(self, request):
        """Answer a window of the sectors' RS-ratio / RS-momentum tails and index lines as JSON."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = RotationChartQuery(request.GET)
        if not query.is_valid():
            return JsonResponse(query.errors, status=400)
        end = query.cleaned_data["end"]
        return JsonResponse(
            sector_rotation(
                end=None if end is None else datetime.fromtimestamp(end, UTC),
                days=query.cleaned_data["days"] or RotationChartQuery.DEFAULT_DAYS,
            )
        )


@admin.register(SectorHistory)
class SectorHistoryAdmin(BaseAdmin):
    list_display = (
        "sector",
        "timeframe",
        "snapshot_time",
        "total_market_cap",
        "market_cap_change_24h",
        "dominance",
        "avg_price_change_24h",
        "asset_count",
    )
    list_filter = ("timeframe", "sector")
    search_fields = ("sector__name",)
    ordering = ("-snapshot_time", "sector")
    list_select_related = ("sector",)
    autocomplete_fields = ("sector",)


@admin.register(SectorMapping)
class SectorMappingAdmin(HistoryAdmin, BaseAdmin):
    form = SectorMappingForm
    list_display = ("asset", "sector", "weight", "is_primary", "confidence", "source", "updated_at")
    list_filter = (("asset", AutocompleteFilter), "source", "is_primary", "sector")
    search_fields = ("asset__symbol", "asset__name", "sector__name")
    ordering = ("asset__symbol", "-is_primary", "-weight")
    list_select_related = ("asset", "sector")
    autocomplete_fields = ("asset", "sector")


@admin.register(AISectorAnalysis)
class AISectorAnalysisAdmin(AIOutputAdmin):
    list_display = (
        "analysis_time",
        "sector",
        "timeframe",
        "outlook",
        "rotation_signal",
        "momentum_score",
        "relative_strength",
        "performance_rank",
        "ai_confidence_score",
        "ai_model",
        "in_sample",
    )
    list_filter = (
        InSampleFilter,
        ("analysis_time", DateRangeFilter),
        "outlook",
        "rotation_signal",
        "timeframe",
        "sector",
        "ai_model",
    )
    search_fields = ("sector__name", "summary")
    ordering = ("-analysis_time", "performance_rank")
    list_select_related = ("sector", "ai_model")
    autocomplete_fields = ("sector", "ai_model")
    raw_id_fields = ANALYSIS_RAW_IDS


@admin.register(AICrossSectorAnalysis)
class AICrossSectorAnalysisAdmin(AIOutputAdmin):
    list_display = (
        "analysis_time",
        "timeframe",
        "rotation_phase",
        "market_breadth",
        "ai_confidence_score",
        "ai_model",
        "metrics_snapshot",
        "in_sample",
    )
    list_filter = (
        InSampleFilter,
        ("analysis_time", DateRangeFilter),
        "rotation_phase",
        "timeframe",
        "ai_model",
    )
    search_fields = ("=rotation_phase", "summary")
    ordering = ("-analysis_time",)
    list_select_related = ("ai_model", "metrics_snapshot")
    autocomplete_fields = ("ai_model",)
    raw_id_fields = ANALYSIS_RAW_IDS
    inlines = (RotationFlowInline,)


@admin.register(SectorRotationFlow)
class SectorRotationFlowAdmin(AIOutputAdmin):
    list_display = (
        "detected_at",
        "from_sector",
        "to_sector",
        "flow_strength",
        "estimated_flow_usd",
        "confidence",
        "timeframe",
    )
    list_filter = ("timeframe",)
    search_fields = ("from_sector__name", "to_sector__name")
    ordering = ("-detected_at", "-flow_strength")
    list_select_related = ("from_sector", "to_sector")
    autocomplete_fields = ("from_sector", "to_sector")
    raw_id_fields = ("cross_analysis",)
