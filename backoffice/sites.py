"""The admin site of CryptoPredict: its branding, the dashboard and the charts' JSON views."""

from django.contrib import admin
from django.urls import path

from . import views


class BackOfficeSite(admin.AdminSite):
    site_header = "CryptoPredict back office"
    site_title = "CryptoPredict back office"
    index_title = "Dashboard"

    def get_urls(self):
        charts = [
            path(
                "charts/candles/<int:asset_id>/", self.admin_view(views.candles_chart), name="chart_candles"
            ),
        ]
        return [*charts, *super().get_urls()]
