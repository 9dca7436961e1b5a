"""Filters of the users, sessions and activities lists; token digests are never filterable."""

from cryptopredict.api.filters import BaseFilterSet, filter_fields

from .models import User, UserActivity, UserSession

SECRETS = ("password", "reset_password_token", "email_verification_token", "session_token", "refresh_token")


class UserFilterSet(BaseFilterSet):
    class Meta:
        model = User
        fields = filter_fields(User, exclude=SECRETS)


class UserSessionFilterSet(BaseFilterSet):
    class Meta:
        model = UserSession
        fields = filter_fields(UserSession, exclude=SECRETS)


class UserActivityFilterSet(BaseFilterSet):
    class Meta:
        model = UserActivity
        fields = filter_fields(UserActivity)
