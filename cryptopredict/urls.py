from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cryptopredict.api.health import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(("cryptopredict.api.urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/health/", HealthView.as_view(), name="health"),
]
