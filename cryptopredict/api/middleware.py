"""Middleware of the API."""

from .throttling import RATE_LIMIT_ATTRIBUTE


class RateLimitHeadersMiddleware:
    """Write the X-RateLimit-* headers a throttle recorded on the request (see api/throttling.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        limit = getattr(request, RATE_LIMIT_ATTRIBUTE, None)
        if limit is not None:
            names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
            for name, value in zip(names, limit, strict=True):
                response.headers[name] = str(value)
        return response
