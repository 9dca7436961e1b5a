import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import IntegrityError, transaction

from cryptopredict.choices import UserRole
from users.choices import SubscriptionPlan
from users.models import User
from users.tests.factories import (
    PASSWORD,
    AdminUserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("first_name", "last_name", "expected"),
    [
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ada", None, "Ada"),
        (None, "Lovelace", "Lovelace"),
        (None, None, "ada.l"),
        ("", "", "ada.l"),
    ],
)
def test_full_name(first_name, last_name, expected):
    user = UserFactory.build(email="ada.l@example.com", first_name=first_name, last_name=last_name)
    assert user.full_name == expected


def test_referral_code_is_generated_url_safe_and_kept():
    users = [User.objects.create_user(f"ref{n}@example.com", PASSWORD) for n in range(3)]
    codes = [user.referral_code for user in users]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{8}", code) for code in codes), codes
    assert len(set(codes)) == 3
    assert User.objects.get(pk=users[0].pk).referral_code == codes[0]


def test_a_referral_code_is_unique_in_the_database(monkeypatch):
    """Two accounts with one code are refused by the unique index (a random clash included)."""
    monkeypatch.setattr("users.models.secrets.token_urlsafe", lambda nbytes: "SAMECODE")
    User.objects.create_user("first@example.com", PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("second@example.com", PASSWORD)
    assert list(User.objects.values_list("referral_code", flat=True)) == ["SAMECODE"]


def test_create_user_makes_a_public_user_with_an_argon2_hash(argon2):
    user = User.objects.create_user("  Bob@Example.COM", PASSWORD)
    user.refresh_from_db()
    assert user.email == "bob@example.com"
    assert (user.role, user.is_staff, user.is_superuser, user.is_active) == (
        UserRole.PUBLIC,
        False,
        False,
        True,
    )
    assert user.subscription_plan == SubscriptionPlan.FREE
    assert user.password.startswith("argon2")
    assert user.check_password(PASSWORD)
    assert not user.check_password("wrong")


def test_create_user_needs_an_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", PASSWORD)


def test_create_superuser_makes_an_admin(argon2):
    user = User.objects.create_superuser("root@example.com", PASSWORD)
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (UserRole.ADMIN, True, True)
    assert user.password.startswith("argon2")


def test_createsuperuser_noinput_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-Passw0rd")
    call_command("createsuperuser", "--noinput", stdout=StringIO())
    user = User.objects.get(email="ops@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == (UserRole.ADMIN, True, True)
    assert authenticate(email="ops@example.com", password="s3cret-Passw0rd") == user


def test_login_by_email_ignores_letter_case():
    user = UserFactory(email="carol@example.com")
    assert authenticate(email="carol@example.com", password=PASSWORD) == user
    assert authenticate(email=" Carol@EXAMPLE.com ", password=PASSWORD) == user
    assert authenticate(username="CAROL@example.com", password=PASSWORD) == user
    assert authenticate(email="carol@example.com", password="wrong") is None


def test_inactive_user_cannot_log_in():
    user = UserFactory(is_active=False)
    assert authenticate(email=user.email, password=PASSWORD) is None


def test_soft_deleted_user_cannot_log_in_until_restored():
    admin = AdminUserFactory()
    user = UserFactory()
    user.soft_delete(by=admin)
    user.refresh_from_db()
    assert user.is_deleted
    assert user.deleted_by == admin
    assert authenticate(email=user.email, password=PASSWORD) is None

    user.restore()
    user.refresh_from_db()
    assert (user.is_deleted, user.deleted_by) == (False, None)
    assert authenticate(email=user.email, password=PASSWORD) == user


def test_alive_and_dead_split_users_on_soft_delete():
    kept, dropped = UserFactory(), UserFactory()
    dropped.soft_delete()
    assert list(User.objects.alive()) == [kept]
    assert list(User.objects.dead()) == [dropped]
    assert User.objects.count() == 2  # soft delete keeps the row
