from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cryptopredict.api.health import HealthView


def api_not_found(request, *args, **kwargs):
    """Answer an unknown API route in JSON, as the API answers everything."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


urlpatterns = [
    # The back office is the product's front page; the API lives under /api/.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("cryptopredict.api.urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/health/", HealthView.as_view(), name="health"),
    re_path(r"^api/", api_not_found),
]
