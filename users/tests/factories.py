"""Factories for the users app: users (plain and admin), sessions and activities."""

import hashlib
from datetime import timedelta
from functools import cache

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from cryptopredict.choices import UserRole
from users.models import User, UserActivity, UserSession

PASSWORD = "pass-w0rd!"


@cache
def password_hash() -> str:
    """Return one hash of PASSWORD, computed once (by the first hasher of PASSWORD_HASHERS)."""
    return make_password(PASSWORD)


def digest(text: str) -> str:
    """Return the SHA-256 hex digest that the app stores in place of a token."""
    return hashlib.sha256(text.encode()).hexdigest()


class UserFactory(factory.django.DjangoModelFactory):
    """A public user whose password is PASSWORD."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    password = factory.LazyFunction(password_hash)


class AdminUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"admin{n}@example.com")
    role = UserRole.ADMIN
    is_staff = True
    is_superuser = True
    is_verified = True


class UserSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_token = factory.Sequence(lambda n: digest(f"session-{n}"))
    refresh_token = factory.Sequence(lambda n: digest(f"refresh-{n}"))
    ip_address = "127.0.0.1"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


class UserActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserActivity

    user = factory.SubFactory(UserFactory)
    session = factory.SubFactory(UserSessionFactory, user=factory.SelfAttribute("..user"))
    activity_type = "auth"
    action = "login"
    ip_address = "127.0.0.1"
