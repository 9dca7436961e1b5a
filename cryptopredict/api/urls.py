"""The `/api/v1/` routes: each app serves its own router from `<app>/api/urls.py`."""

from importlib.util import find_spec

from django.urls import include, path

API_APPS = ["users", "assets", "ai", "macro", "sectors", "selection", "trading", "alerts"]

# An app joins the API as soon as it has an api/urls.py; apps without one are skipped.
urlpatterns = [path("", include(f"{app}.api.urls")) for app in API_APPS if find_spec(f"{app}.api.urls")]
