"""Serializers of channels, rules and notifications; writes go through alerts.services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.serializers import as_serializer_error

from alerts import services
from alerts.models import AlertRule, Notification, NotificationChannel
from alerts.services.rules import CONDITION_FIELDS, RuleLimitReached
from assets.models import Asset
from cryptopredict.api.base import BaseModelSerializer
from cryptopredict.api.ownership import OwnedRelatedField
from selection.models import Watchlist


def _checked(check, *args, **kwargs):
    """Run a service's check and turn its Django ValidationError into DRF's (a 400 naming the fields)."""
    try:
        return check(*args, **kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(as_serializer_error(exc)) from None


class AssetField(serializers.PrimaryKeyRelatedField):
    """An asset by id (12) or by symbol ("BTC", any case)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isdecimal():
            asset = Asset.objects.filter(symbol__iexact=data).first()
            if asset is None:
                self.fail("does_not_exist", pk_value=data)
            return asset
        return super().to_internal_value(data)


class NotificationChannelSerializer(BaseModelSerializer):
    is_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = NotificationChannel
        fields = (
            "id",
            "kind",
            "name",
            "email",
            "url",
            "secret",
            "chat_id",
            "is_active",
            "is_verified",
            "verified_at",
            "last_error",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("verified_at", "last_error", "created_at", "updated_at")
        extra_kwargs = {"secret": {"write_only": True}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            # What a channel reaches is fixed once verified: a new target is a new channel.
            for name in ("kind", "email", "url", "secret", "chat_id"):
                fields[name].read_only = True
        return fields

    def validate(self, attrs):
        if self.instance is None:
            _checked(services.channels._check_target, attrs.get("kind"), attrs)
        return super().validate(attrs)

    def create(self, validated_data):
        return _checked(services.channel_create, user=self.context["request"].user, **validated_data)


class AlertRuleSerializer(BaseModelSerializer):
    asset = AssetField(queryset=Asset.objects.all(), required=False, allow_null=True)
    asset_symbol = serializers.CharField(source="asset.symbol", read_only=True, default=None)
    watchlist = OwnedRelatedField(
        owner="user", queryset=Watchlist.objects.alive(), required=False, allow_null=True
    )
    channels = OwnedRelatedField(
        owner="user", queryset=NotificationChannel.objects.all(), many=True, required=False
    )

    class Meta:
        model = AlertRule
        fields = "__all__"
        read_only_fields = (
            "user",
            "is_armed",
            "last_fired_at",
            "fire_count",
            "watchlist_asset",
            "created_at",
            "updated_at",
        )

    def validate(self, attrs):
        if self.instance is None:
            attrs = _checked(services.rule_check, attrs)
        elif CONDITION_FIELDS & attrs.keys():
            current = {name: getattr(self.instance, name) for name in CONDITION_FIELDS}
            clean = _checked(services.rule_check, {**current, **attrs})
            attrs = {**attrs, **{name: clean[name] for name in CONDITION_FIELDS}}
        return super().validate(attrs)

    def create(self, validated_data):
        channels = validated_data.pop("channels", [])
        try:
            return _checked(
                services.rule_create, user=self.context["request"].user, channels=channels, **validated_data
            )
        except RuleLimitReached as exc:
            raise exceptions.PermissionDenied(str(exc), code="plan_limit") from None

    def update(self, instance, validated_data):
        channels = validated_data.pop("channels", None)
        return _checked(services.rule_update, rule=instance, channels=channels, **validated_data)


class NotificationSerializer(BaseModelSerializer):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ("id", "title", "body", "payload", "firing", "created_at", "read_at", "is_read")
        read_only_fields = fields

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None
