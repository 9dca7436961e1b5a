"""Read rules on rows that belong to users (profiles, sessions, activities, watchlists, portfolios)."""

from cryptopredict.api.permissions import is_admin


def reads_all(user, model) -> bool:
    """Return whether the user may read every row of `model`, whoever it belongs to.

    Admins may, and staff holding the model's view permission (design/api.md: "read all").
    """
    if is_admin(user):
        return True
    return user.is_staff and user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
