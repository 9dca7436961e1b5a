"""Authentication endpoints (`auth/...`), profiles (`users/`), sessions and activities."""

from django.contrib.auth import logout as django_logout
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptopredict.api.base import (
    BaseModelViewSet,
    BaseReadOnlyModelViewSet,
    BaseViewSetMixin,
    TimeSeriesMixin,
)
from cryptopredict.api.permissions import can_write, reads_all
from cryptopredict.choices import UserRole
from users.filtersets import UserActivityFilterSet, UserFilterSet, UserSessionFilterSet
from users.models import User, UserActivity, UserSession
from users.services import auth as services
from users.throttling import AuthAnonRateThrottle, PlanRateThrottle

from .serializers import (
    EmailSerializer,
    LoginSerializer,
    MessageSerializer,
    PasswordResetConfirmSerializer,
    ProfileSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenSerializer,
    UserActivitySerializer,
    UserSerializer,
    UserSessionSerializer,
    VerifyEmailSerializer,
)

ACCEPTED = {"detail": "If the request is valid, an email is on its way.", "code": "accepted"}
REGISTERED = {"detail": "Check your mailbox: an email tells you how to go on.", "code": "accepted"}


class NotGuest(BasePermission):
    """Guests see their profile, not an audit trail (the api.md table), unless they read all rows."""

    message = "Guest accounts have no access to this endpoint."

    def has_permission(self, request, view):
        return request.user.role != UserRole.GUEST or reads_all(request.user, view.queryset.model)


class PublicAuthView(APIView):
    """An endpoint for people who are not logged in: no authentication, throttled per client IP."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthAnonRateThrottle]
    serializer_class = None

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'

    def validated(self, request) -> dict:
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _refused(error: services.AuthError):
    """Return the API exception for a refusal of the authentication services."""
    if isinstance(error, services.TooManyAttempts):
        return exceptions.Throttled(wait=error.wait)
    if isinstance(error, services.InvalidCredentials):
        return exceptions.AuthenticationFailed({"detail": str(error), "code": "invalid_credentials"})
    return exceptions.ValidationError({"token": [str(error)]})


def _tokens_response(tokens: services.IssuedTokens, request) -> Response:
    return Response(TokenSerializer(tokens, context={"request": request}).data)


class RegisterView(PublicAuthView):
    serializer_class = RegisterSerializer

    @extend_schema(request=RegisterSerializer, responses={202: MessageSerializer})
    def post(self, request):
        """Register; the answer is the same whether or not the email is taken (the mail tells)."""
        data = self.validated(request)
        services.user_register(
            email=data["email"],
            password=data["password"],
            referral_code=data.get("referral_code") or None,
            first_name=data.get("first_name") or None,
            last_name=data.get("last_name") or None,
            request=request,
        )
        return Response(REGISTERED, status=status.HTTP_202_ACCEPTED)


class LoginView(PublicAuthView):
    serializer_class = LoginSerializer
    # Logins are also throttled per IP and per account by the login policy (services.user_authenticate).

    @extend_schema(request=LoginSerializer, responses={200: TokenSerializer})
    def post(self, request):
        data = self.validated(request)
        try:
            tokens = services.user_login(email=data["email"], password=data["password"], request=request)
        except services.AuthError as error:
            raise _refused(error) from error
        return _tokens_response(tokens, request)


class RefreshView(PublicAuthView):
    serializer_class = RefreshSerializer

    @extend_schema(request=RefreshSerializer, responses={200: TokenSerializer})
    def post(self, request):
        data = self.validated(request)
        try:
            tokens = services.session_refresh(refresh_token=data["refresh_token"], request=request)
        except services.InvalidToken as error:
            raise exceptions.AuthenticationFailed({"detail": str(error), "code": "invalid_token"}) from error
        return _tokens_response(tokens, request)


class PasswordResetView(PublicAuthView):
    serializer_class = EmailSerializer

    @extend_schema(request=EmailSerializer, responses={202: MessageSerializer})
    def post(self, request):
        data = self.validated(request)
        services.password_reset_request(email=data["email"], request=request)
        # The same answer whether or not the email belongs to someone (no enumeration).
        return Response(ACCEPTED, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAuthView):
    serializer_class = PasswordResetConfirmSerializer

    @extend_schema(request=PasswordResetConfirmSerializer, responses={202: None})
    def post(self, request):
        data = self.validated(request)
        try:
            services.password_reset_confirm(token=data["token"], password=data["password"], request=request)
        except services.InvalidToken as error:
            raise _refused(error) from error
        return Response({"detail": "The password is changed.", "code": "password_changed"}, status=202)


class VerifyEmailView(PublicAuthView):
    serializer_class = VerifyEmailSerializer

    @extend_schema(request=VerifyEmailSerializer, responses={200: ProfileSerializer})
    def post(self, request):
        data = self.validated(request)
        try:
            user = services.user_verify_email(token=data["token"], request=request)
        except services.InvalidToken as error:
            raise _refused(error) from error
        return Response(ProfileSerializer(user).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PlanRateThrottle]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.user_logout(
            user=request.user, session=getattr(request, "auth_session", None), request=request
        )
        if request.auth is None:
            django_logout(request._request)  # a browser session (SessionAuthentication)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserAccess(BasePermission):
    """Everyone signed in reads (their own row; admins all); administrators write."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or view.action == "me":
            return True
        return can_write(request.user, User, view.action)


class UserViewSet(BaseModelViewSet):
    """`users/`: admins read all and write; everyone else sees only themselves. `users/me/` is the profile."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    search_fields = ("email", "first_name", "last_name")
    permission_classes = [UserAccess]
    http_method_names = ["get", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if reads_all(self.request.user, User):
            return queryset
        return queryset.filter(pk=self.request.user.pk)

    def get_serializer_class(self):
        return ProfileSerializer if self.action == "me" else UserSerializer

    @action(detail=False, methods=["get", "patch"])
    def me(self, request):
        """Return, or change, the profile of the user making the request."""
        user = request.user
        if request.method == "GET":
            return Response(ProfileSerializer(user, context={"request": request}).data)
        serializer = ProfileSerializer(user, data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(serializer.data)


class UserSessionViewSet(BaseViewSetMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """`auth/sessions/`: your sessions (admins: everyone's); DELETE revokes one."""

    queryset = UserSession.objects.all()
    serializer_class = UserSessionSerializer
    filterset_class = UserSessionFilterSet
    permission_classes = [IsAuthenticated]
    ordering = ("-created_at",)

    def get_queryset(self):
        queryset = super().get_queryset()
        if reads_all(self.request.user, UserSession):
            return queryset
        return queryset.filter(user=self.request.user)

    def perform_destroy(self, instance):
        user = self.request.user
        if instance.user_id != user.pk and not can_write(user, UserSession, "destroy"):
            raise exceptions.PermissionDenied("Only administrators may revoke other users' sessions.")
        services.session_revoke(session=instance, by=user, request=self.request)


class UserActivityViewSet(TimeSeriesMixin, BaseReadOnlyModelViewSet):
    """`user-activities/`: the audit trail, read-only; your own (admins: all), newest first."""

    queryset = UserActivity.objects.all()
    serializer_class = UserActivitySerializer
    filterset_class = UserActivityFilterSet
    search_fields = ("activity_type", "action", "entity_type", "user_agent")
    permission_classes = [IsAuthenticated, NotGuest]
    ordering = "-id"

    def get_queryset(self):
        queryset = super().get_queryset()
        if reads_all(self.request.user, UserActivity):
            return queryset
        return queryset.filter(user=self.request.user)
