from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Authenticate by email, in any letter case; soft-deleted users are refused like inactive ones."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = username or kwargs.get("email")
        return super().authenticate(request, username=email and email.strip().lower(), password=password)

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.deleted_at is None
