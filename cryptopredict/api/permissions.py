"""Who may do what through the API (the table in docs/api.md).

- anonymous: 401 everywhere (the auth endpoints excepted);
- guest and public users: read market data and AI;
- the admin role (and superusers): read and write everything;
- staff: write a model when they hold Django's permission for it (`add`, `change`, `delete`).

Owner rules (watchlists, portfolios...) are in `ownership`; they build on `is_admin` and
`reads_all` below.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from cryptopredict.choices import UserRole

# Django's model permission that each viewset action needs; other actions need `change`.
ACTION_PERMISSIONS = {
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def is_admin(user) -> bool:
    """Return whether the user holds the admin role (or is a superuser)."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == UserRole.ADMIN))


def can_write(user, model, action: str, codename: str | None = None) -> bool:
    """Return whether the user may run a writing viewset `action` on `model`.

    Staff need Django's `codename` permission (by default the one ACTION_PERMISSIONS gives).
    """
    if is_admin(user):
        return True
    if not (user and user.is_authenticated and user.is_staff):
        return False
    codename = codename or ACTION_PERMISSIONS.get(action, "change")
    return user.has_perm(f"{model._meta.app_label}.{codename}_{model._meta.model_name}")


def reads_all(user, model) -> bool:
    """Return whether the user may read every row of `model`, whoever it belongs to.

    Admins may, and staff holding the model's view permission (docs/api.md: "read all").
    """
    if is_admin(user):
        return True
    return user.is_staff and user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


class IsReaderOrWriter(BasePermission):
    """Any signed-in user reads; the admin role or staff with the model permission writes.

    A viewset may name, per extra action, the model (`action_models`) and the permission
    (`action_codenames`) that a write needs, e.g. `{"candles": PriceData}` and `{"candles": "add"}`.
    """

    message = "Only administrators, or staff with the permission for this model, may change it."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        action = getattr(view, "action", None) or ""
        model = getattr(view, "action_models", {}).get(action)
        if model is None:
            queryset = view.queryset if getattr(view, "queryset", None) is not None else view.get_queryset()
            model = queryset.model
        return can_write(request.user, model, action, getattr(view, "action_codenames", {}).get(action))
