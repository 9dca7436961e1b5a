"""Rate-limit headers: every throttled endpoint tells the client where it stands.

    X-RateLimit-Limit: 60        requests allowed in the window
    X-RateLimit-Remaining: 59    left in it
    X-RateLimit-Reset: 60        seconds until the oldest counted request leaves the window

A throttle records its numbers on the request; RateLimitHeadersMiddleware writes those of the
tightest throttle (fewest remaining) on the response, 429 included (beside DRF's Retry-After).
"""

import math

RATE_LIMIT_ATTRIBUTE = "rate_limit"


class RateLimitHeadersMixin:
    """Mix into a SimpleRateThrottle subclass to publish its counters."""

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        history = getattr(self, "history", None)
        if history is not None and getattr(self, "num_requests", None):
            remaining = max(0, self.num_requests - len(self.history))
            reset = self.duration - (self.now - self.history[-1]) if self.history else self.duration
            request = getattr(request, "_request", request)  # a DRF request, or Django's (the admin)
            current = getattr(request, RATE_LIMIT_ATTRIBUTE, None)
            if current is None or remaining < current[1]:
                limit = (self.num_requests, remaining, max(0, math.ceil(reset)))
                setattr(request, RATE_LIMIT_ATTRIBUTE, limit)
        return allowed
