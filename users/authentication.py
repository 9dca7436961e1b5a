"""Bearer-token authentication for the API, backed by UserSession."""

from rest_framework import authentication, exceptions

from .services.auth import InvalidToken, session_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate `Authorization: Bearer <access token>` against the live sessions.

    An unknown, expired or revoked token, or one whose user was deactivated or deleted, is a 401.
    The session is put on `request.auth_session` (and `request.auth`) for logout and the audit trail.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        try:
            token = parts[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Invalid characters in the token.") from error
        try:
            session = session_authenticate(access_token=token)
        except InvalidToken as error:
            raise exceptions.AuthenticationFailed(str(error), code="invalid_token") from error
        request.auth_session = session
        return session.user, session

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
