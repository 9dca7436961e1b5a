"""OpenAPI generation: every operation documents its error answers, all in the one Error shape."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (cryptopredict/api/exceptions.py)."""

    detail = serializers.CharField(help_text="One line for people.")
    code = serializers.CharField(help_text="What went wrong, for programs: `invalid`, `not_found`, ...")


ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}
FIELD_ERRORS = {
    "allOf": [
        ERROR_SCHEMA,
        {
            "type": "object",
            "description": "Besides `detail` and `code`: field name -> list of messages for each field "
            "at fault (`non_field_errors` for the input as a whole; a nested object's errors nest).",
            "additionalProperties": True,
        },
    ]
}

ERRORS = {
    "401": OpenApiResponse(ErrorSerializer, "Not authenticated: send `Authorization: Bearer <token>`."),
    "403": OpenApiResponse(ErrorSerializer, "Authenticated, but not allowed to do this."),
    "404": OpenApiResponse(ErrorSerializer, "No such object, or not yours."),
    "409": OpenApiResponse(ErrorSerializer, "Conflict: a duplicate, or still referenced (`blocked_by`)."),
    "413": OpenApiResponse(ErrorSerializer, "The request body is too large."),
    "429": OpenApiResponse(
        ErrorSerializer, "Too many requests: wait for Retry-After seconds (see the X-RateLimit-* headers)."
    ),
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every endpoint can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes = ["429"] if public else ["401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("413")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("409")
        for code in codes:
            responses.setdefault(code, self._get_response_for_code(ERRORS[code], code, direction=direction))
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view() or self.get_filter_backends():
            responses.setdefault("400", {"description": "Bad input", "content": self._json(FIELD_ERRORS)})
        return dict(sorted(responses.items()))

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        slug_field = getattr(self.view, "slug_field", None)
        lookup = getattr(self.view, "lookup_url_kwarg", None) or getattr(self.view, "lookup_field", None)
        if slug_field:
            for parameter in parameters:
                if parameter["name"] == lookup:
                    parameter["schema"] = {"type": "string"}
                    parameter["description"] = f"The id or the {slug_field} (in any case), e.g. `1` or `BTC`."
        return parameters

    @staticmethod
    def _json(schema: dict) -> dict:
        return {"application/json": {"schema": schema}}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Document users.authentication.BearerTokenAuthentication as an HTTP bearer scheme."""

    target_class = "users.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An access token from `auth/login/`."}


class IdOrSlugFieldExtension(OpenApiSerializerFieldExtension):
    """cryptopredict.api.base.IdOrSlugRelatedField: an id or a slug in, an id out."""

    target_class = "cryptopredict.api.base.IdOrSlugRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        slug = self.target.slug_field
        if direction == "request":
            return {
                "oneOf": [{"type": "integer"}, {"type": "string"}],
                "description": f"The id or the {slug}.",
            }
        return {"type": "integer"}
