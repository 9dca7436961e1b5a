"""Request middleware of the project."""

from django.utils import timezone

from cryptopredict.formatting import zone


class UserTimezoneMiddleware:
    """Show times in the signed-in user's `timezone` (UTC when unset or unknown)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tz = zone(getattr(user, "timezone", None)) if user is not None and user.is_authenticated else None
        if tz is None:
            timezone.deactivate()
        else:
            timezone.activate(tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
