"""Filters of the users, sessions and activities lists; the models' secret_fields (token digests,
password hashes) are never filterable."""

from cryptopredict.api.filters import BaseFilterSet, filter_fields

from .models import User, UserActivity, UserSession


class UserFilterSet(BaseFilterSet):
    class Meta:
        model = User
        fields = filter_fields(User)


class UserSessionFilterSet(BaseFilterSet):
    class Meta:
        model = UserSession
        fields = filter_fields(UserSession)


class UserActivityFilterSet(BaseFilterSet):
    class Meta:
        model = UserActivity
        fields = filter_fields(UserActivity)
