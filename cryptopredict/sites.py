"""The admin site of CryptoPredict: its branding and the dashboard on its index page."""

from django.contrib import admin


class BackOfficeSite(admin.AdminSite):
    site_header = "CryptoPredict back office"
    site_title = "CryptoPredict back office"
    index_title = "Dashboard"
