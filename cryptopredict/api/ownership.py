"""Who sees and changes owned objects (watchlists, portfolios and what hangs from them).

The rules of docs/api.md: guests get 403; public users do everything on their own objects and
read other users' objects that are public; admins (and staff holding the view permission) read
everything. Someone else's private object is 404, and so is any write to someone else's object:
the write queryset holds only the user's own rows. Rows under a soft-deleted watchlist or
portfolio disappear with it.
"""

from django.db.models import Q
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission

from cryptopredict.choices import UserRole

from .permissions import reads_all


class IsOwnerRole(BasePermission):
    """Signed-in users who may own things: not guests (admins and staff readers read, see OwnedMixin)."""

    message = "Guest accounts cannot keep watchlists or portfolios."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.role != UserRole.GUEST or (
            request.method in SAFE_METHODS and reads_all(user, view.queryset.model)
        )


class OwnedMixin:
    """Limit a viewset's rows to what the user may see (reads) or change (writes).

    `owner` is the lookup path to the owning user and `parent` the path to the watchlist or
    portfolio ("" for those models themselves), whose is_public and deleted_at count.
    """

    permission_classes = [IsOwnerRole]
    owner: str = "user"
    parent: str = ""

    def _path(self, field: str) -> str:
        return f"{self.parent}__{field}" if self.parent else field

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.parent:
            queryset = queryset.filter(**{self._path("deleted_at__isnull"): True})
        user = self.request.user
        if self.request.method not in SAFE_METHODS:
            return queryset.filter(**{self.owner: user})
        if reads_all(user, queryset.model):
            return queryset
        return queryset.filter(Q(**{self.owner: user}) | Q(**{self._path("is_public"): True}))


class OwnedRelatedField(serializers.PrimaryKeyRelatedField):
    """A watchlist, portfolio or holding of the requesting user (others' do not exist for them)."""

    def __init__(self, *, owner: str, **kwargs):
        self.owner = owner
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        queryset = super().get_queryset()
        return queryset.filter(**{self.owner: request.user}) if request else queryset.none()
