"""Request rate limits: per user by subscription plan, and per IP on the authentication endpoints.

The rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings); a throttled request gets 429
with Retry-After, and every answer carries X-RateLimit-* headers (cryptopredict/api/throttling.py).
Counters are kept in the default cache.
"""

import hashlib

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from cryptopredict.api.throttling import RateLimitHeadersMixin

from .choices import SubscriptionPlan


class PlanRateThrottle(RateLimitHeadersMixin, SimpleRateThrottle):
    """Limit each authenticated user to the rate of their subscription plan (scope `plan_<plan>`)."""

    scope = "plan"

    def __init__(self):
        # The rate depends on the user, so it is set per request in allow_request().
        pass

    def allow_request(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return True
        self.scope = f"plan_{user.subscription_plan or SubscriptionPlan.FREE}"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "plan", "ident": request.user.pk}


class AuthAnonRateThrottle(RateLimitHeadersMixin, AnonRateThrottle):
    """Limit anonymous calls to the authentication endpoints, per client IP."""

    scope = "auth_anon"


class LoginRateThrottle(RateLimitHeadersMixin, SimpleRateThrottle):
    """Limit login attempts per client IP, whoever is asking (the API's and the admin's)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginAccountRateThrottle(RateLimitHeadersMixin, SimpleRateThrottle):
    """Limit login attempts per account (the email tried), from wherever they come."""

    scope = "login_account"

    def __init__(self, *, email: str):
        super().__init__()
        self.email = email

    def get_cache_key(self, request, view):
        digest = hashlib.sha256(self.email.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
