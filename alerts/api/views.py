"""A user's own channels, rules and notifications. Someone else's are 404 (admins see all in the admin)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from alerts import filtersets, services
from alerts.models import AlertRule, Notification, NotificationChannel
from cryptopredict.api.base import BaseModelViewSet, BaseReadOnlyModelViewSet, TimeSeriesMixin
from cryptopredict.api.ownership import IsOwnerRole
from cryptopredict.api.permissions import reads_all

from . import serializers


class IsAlertOwner(IsOwnerRole):
    """Signed-in users who may own things: not guests (admins and staff readers read, see OwnMixin)."""

    message = "Guest accounts cannot keep alert rules, channels or notifications."


class OwnMixin:
    """docs/api.md's own objects: one's own rows; admins and staff with the view permission read
    everyone's (and write only their own). Someone else's row is 404."""

    permission_classes = [IsAlertOwner]
    readers_see_all = True

    def get_queryset(self):
        queryset = super().get_queryset()
        user = self.request.user
        if self.readers_see_all and self.request.method in SAFE_METHODS and reads_all(user, queryset.model):
            return queryset
        return queryset.filter(user=user)


class NotificationChannelViewSet(OwnMixin, BaseModelViewSet):
    """Email, webhook and Telegram channels. A new one is sent a signed ping (webhook: answered 2xx),
    a Telegram message, or a confirmation link (email); it receives alerts once verified."""

    queryset = NotificationChannel.objects.all()
    serializer_class = serializers.NotificationChannelSerializer
    filterset_class = filtersets.NotificationChannelFilterSet
    search_fields = ("name", "email", "url", "chat_id", "last_error")
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        super().perform_create(serializer)
        # After the commit: the channel exists whether or not its receiver answers the ping.
        serializer.instance = services.channel_verify_start(channel=serializer.instance)

    @extend_schema(request=None, responses=serializers.NotificationChannelSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Send the ping (or the confirmation mail) again."""
        channel = services.channel_verify_start(channel=self.get_object())
        return Response(self.get_serializer(channel).data)

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True)],
        responses=serializers.NotificationChannelSerializer,
    )
    @action(detail=False, methods=["get"], permission_classes=[AllowAny], authentication_classes=[])
    def confirm(self, request):
        """The link of the confirmation mail: verify the email channel holding this token."""
        try:
            channel = services.channel_confirm(token=request.query_params.get("token", ""))
        except DjangoValidationError as exc:
            return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response({"id": channel.pk, "email": channel.email, "is_verified": True})


class AlertRuleViewSet(OwnMixin, BaseModelViewSet):
    """Rules of the requesting user, within their plan's limit (403 beyond it)."""

    queryset = AlertRule.objects.all()
    serializer_class = serializers.AlertRuleSerializer
    filterset_class = filtersets.AlertRuleFilterSet
    search_fields = ("name", "asset__symbol")


class NotificationViewSet(OwnMixin, TimeSeriesMixin, BaseReadOnlyModelViewSet):
    """In-app notifications, newest first; `?unread=true` for the unread ones."""

    queryset = Notification.objects.all()
    serializer_class = serializers.NotificationSerializer
    filterset_class = filtersets.NotificationFilterSet
    search_fields = ("title", "body")
    ordering = ("-created_at", "-id")
    readers_see_all = False  # an inbox: everyone reads their own, admins too

    @extend_schema(request=None, responses=serializers.NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one notification read."""
        notification = services.notification_read(notification=self.get_object())
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None, responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}}
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark every unread notification of the user read; answer how many were."""
        marked = services.notifications_read_all(user=request.user)
        return Response({"marked": marked})
