"""OpenAPI generation: every operation documents its error answers (400, 401, 403, 404, 429)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


VALIDATION_ERROR = {
    "type": "object",
    "description": "Field name -> list of messages (`non_field_errors` for the object as a whole).",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

ERRORS = {
    "401": OpenApiResponse(ErrorSerializer, "Not authenticated: send `Authorization: Bearer <token>`."),
    "403": OpenApiResponse(ErrorSerializer, "Authenticated, but not allowed to do this."),
    "404": OpenApiResponse(ErrorSerializer, "No such object, or not yours."),
    "429": OpenApiResponse(ErrorSerializer, "Too many requests: wait for Retry-After seconds."),
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every endpoint can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes = ["429"] if public else ["401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        for code in codes:
            responses.setdefault(code, self._get_response_for_code(ERRORS[code], code, direction=direction))
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            responses.setdefault("400", {"description": "Bad input", "content": self._json(VALIDATION_ERROR)})
        return dict(sorted(responses.items()))

    @staticmethod
    def _json(schema: dict) -> dict:
        return {"application/json": {"schema": schema}}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Document users.authentication.BearerTokenAuthentication as an HTTP bearer scheme."""

    target_class = "users.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An access token from `auth/login/`."}
