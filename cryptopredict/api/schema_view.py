"""The view of `/api/schema/` (apart from schema.py, which drf-spectacular imports while loading)."""

from functools import cache

from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """`/api/schema/`: YAML by default, JSON for `Accept: application/json` or `?format=json`.

    The schema is built once per process (it only changes with the code) and cached.
    """

    def perform_content_negotiation(self, request, force=False):
        if request.query_params.get("format") == "json":
            return OpenApiJsonRenderer2(), OpenApiJsonRenderer2.media_type
        return super().perform_content_negotiation(request, force)

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        return Response(
            data=_schema(self.generator_class, version, self.serve_public),
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )


@cache
def _schema(generator_class, version, public) -> dict:
    return generator_class(api_version=version).get_schema(request=None, public=public)
