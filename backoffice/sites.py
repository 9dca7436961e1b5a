"""The admin site of CryptoPredict: its branding, the dashboard and the charts' JSON views."""

from django.contrib import admin
from django.urls import path

from . import selectors, views


class BackOfficeSite(admin.AdminSite):
    site_header = "CryptoPredict back office"
    site_title = "CryptoPredict back office"
    index_title = "Dashboard"

    def index(self, request, extra_context=None):
        """Show the dashboard above the apps: each panel only to those who may see its rows."""
        user, context = request.user, {}
        if user.has_perm("assets.view_pricedata"):
            context["freshness"] = selectors.data_freshness()
        if user.has_perm("ai.view_modeltrainingjob") and user.has_perm("ai.view_modelpredictionjob"):
            context["jobs"] = selectors.job_summary()
        if user.has_perm("macro.view_airegimeanalysis"):
            context["regime"] = selectors.latest_regime()
            context["show_regime"] = True
        if user.has_perm("trading.view_aitradingsignal"):
            context["signals"] = selectors.active_signals()
            context["show_signals"] = True
        return super().index(request, {**context, **(extra_context or {})})

    def get_urls(self):
        charts = [
            path(
                "charts/candles/<int:asset_id>/", self.admin_view(views.candles_chart), name="chart_candles"
            ),
            path(
                "charts/portfolio/<int:portfolio_id>/",
                self.admin_view(views.portfolio_chart),
                name="chart_portfolio",
            ),
        ]
        return [*charts, *super().get_urls()]
