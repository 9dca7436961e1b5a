from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from cryptopredict.api.health import HealthView
from cryptopredict.api.schema_view import SchemaView


def api_not_found(request, *args, **kwargs):
    """Answer an unknown API route in JSON, as the API answers everything."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


# Django's own error answers (before or outside a view) are JSON under /api/, HTML elsewhere.
handler400 = "cryptopredict.api.exceptions.bad_request"
handler403 = "cryptopredict.api.exceptions.permission_denied"
handler404 = "cryptopredict.api.exceptions.page_not_found"
handler500 = "cryptopredict.api.exceptions.server_error"

urlpatterns = [
    # The back office is the product's front page; the API lives under /api/.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("cryptopredict.api.urls", "api"))),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/health/", HealthView.as_view(), name="health"),
    re_path(r"^api/", api_not_found),
]
