"""Serializers of the authentication endpoints, profiles, sessions and the audit trail."""

from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from rest_framework import serializers

from cryptopredict.api.base import BaseModelSerializer
from users.models import User, UserActivity, UserSession

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "preferences",
    "timezone",
    "language",
    "bio",
    "profile_picture_url",
)
# What a user sees of themselves but never sets: role, plan, balance, staff flags, counters.
ACCOUNT_FIELDS = (
    "id",
    "email",
    "full_name",
    "role",
    "is_active",
    "is_staff",
    "is_verified",
    "subscription_plan",
    "subscription_expires_at",
    "account_balance",
    "referral_code",
    "referred_by",
    "referral_count",
    "login_count",
    "last_login",
    "created_at",
    "updated_at",
)


@cache
def time_zones() -> frozenset[str]:
    """Return the IANA time zone names (read from disk once)."""
    return frozenset(available_timezones())


class ProfileSerializer(BaseModelSerializer):
    """A user's own profile: preferences, timezone and language are theirs to change, nothing else."""

    class Meta:
        model = User
        fields = (*ACCOUNT_FIELDS, *PROFILE_FIELDS)
        read_only_fields = ACCOUNT_FIELDS

    def validate_timezone(self, value):
        if value not in time_zones():
            raise serializers.ValidationError(
                f"Unknown time zone {value!r}: use an IANA name such as Europe/Paris."
            )
        return value

    def validate_language(self, value):
        codes = {code for code, _ in settings.LANGUAGES}
        if value not in codes and value.split("-")[0] not in codes:
            raise serializers.ValidationError(f"Unknown language code {value!r}.")
        return value

    def validate_preferences(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class UserSerializer(ProfileSerializer):
    """Users as administrators see and change them."""

    class Meta(ProfileSerializer.Meta):
        fields = (
            *ProfileSerializer.Meta.fields,
            "notes",
            "failed_login_attempts",
            "lockout_expires",
            "deleted_at",
        )
        read_only_fields = (
            "id",
            "email",
            "full_name",
            "referral_code",
            "referred_by",
            "referral_count",
            "login_count",
            "last_login",
            "failed_login_attempts",
            "deleted_at",
            "created_at",
            "updated_at",
        )


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    referral_code = serializers.CharField(required=False, allow_blank=True, max_length=50)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=50)


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=255)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class RefreshSerializer(serializers.Serializer):
    refresh_token = serializers.CharField()


class TokenSerializer(serializers.Serializer):
    """The answer of login and refresh: the tokens are shown only this once."""

    token_type = serializers.CharField(default="Bearer")
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
    user = ProfileSerializer(source="session.user")


class MessageSerializer(serializers.Serializer):
    """An answer that is a message: `detail` for people, `code` for programs."""

    detail = serializers.CharField()
    code = serializers.CharField()


class EmailSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=255)


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class VerifyEmailSerializer(serializers.Serializer):
    token = serializers.CharField()


class UserSessionSerializer(BaseModelSerializer):
    """A session without its tokens (only their digests are stored, and those stay private)."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = (
            "id",
            "user",
            "ip_address",
            "device_info",
            "is_active",
            "created_at",
            "last_used_at",
            "expires_at",
            "refresh_expires_at",
            "current",
        )
        read_only_fields = fields

    def get_current(self, session) -> bool:
        current = getattr(self.context.get("request"), "auth_session", None)
        return current is not None and current.pk == session.pk


class UserActivitySerializer(BaseModelSerializer):
    class Meta:
        model = UserActivity
        fields = (
            "id",
            "user",
            "session",
            "activity_type",
            "action",
            "entity_type",
            "entity_id",
            "details",
            "ip_address",
            "user_agent",
            "created_at",
        )
        read_only_fields = fields
