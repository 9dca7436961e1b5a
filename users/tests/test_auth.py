"""The authentication flows of docs/api.md, end to end through the HTTP API."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from users.models import User, UserActivity, UserSession
from users.services.auth import token_digest
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/"
STRONG = "c0rrect-h0rse-battery"


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com")


def login(client, email="ada@example.com", password=PASSWORD):
    return client.post(f"{API}auth/login/", {"email": email, "password": password})


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def token_from_mail(message) -> str:
    return message.body.strip().splitlines()[-1]


def test_login_returns_tokens_and_records_the_session(client, user):
    answer = login(client)
    assert answer.status_code == 200, answer.data
    body = answer.data
    assert set(body) >= {"access_token", "refresh_token", "expires_at", "user"}
    assert body["user"]["email"] == "ada@example.com"
    assert len(body["access_token"]) >= 43  # 32 random bytes, URL-safe base64
    session = UserSession.objects.get(user=user)
    # Only digests are stored.
    assert session.session_token == token_digest(body["access_token"])
    assert body["access_token"] not in (session.session_token, session.refresh_token)
    user.refresh_from_db()
    assert user.login_count == 1 and user.last_login is not None
    assert UserActivity.objects.filter(user=user, action="login", session=session).count() == 1
    me = bearer(body["access_token"]).get(f"{API}users/me/")
    assert me.status_code == 200 and me.data["email"] == "ada@example.com"


def test_email_is_matched_in_any_case(client, user):
    assert login(client, email="ADA@Example.com").status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_401(client, user):
    wrong = login(client, password="nope")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.data == unknown.data
    assert wrong.data["code"] == "invalid_credentials"
    assert UserActivity.objects.filter(user=user, action="login_failed").count() == 1


@pytest.mark.parametrize("change", [{"is_active": False}, {"deleted_at": timezone.now()}])
def test_inactive_and_deleted_users_cannot_log_in(client, user, change):
    User.objects.filter(pk=user.pk).update(**change)
    assert login(client).status_code == 401


def test_five_failures_lock_the_account_and_the_lock_runs_out(client, user):
    for _ in range(4):
        assert login(client, password="wrong").status_code == 401
    user.refresh_from_db()
    assert user.failed_login_attempts == 4 and user.lockout_expires is None
    assert login(client, password="wrong").status_code == 401  # the fifth locks
    user.refresh_from_db()
    assert user.lockout_expires > timezone.now() + timedelta(minutes=14)
    locked = login(client)  # even the right password, answered like a wrong one
    wrong = login(client, password="wrong")
    assert locked.status_code == wrong.status_code == 401
    assert locked.json() == wrong.json() and locked.data["code"] == "invalid_credentials"
    assert not UserSession.objects.filter(user=user).exists()
    assert UserActivity.objects.filter(user=user, action="login_failed").count() == 7
    # Fifteen minutes later (moved by hand): the right password works and resets the counter.
    User.objects.filter(pk=user.pk).update(lockout_expires=timezone.now() - timedelta(seconds=1))
    assert login(client).status_code == 200
    user.refresh_from_db()
    assert user.failed_login_attempts == 0 and user.lockout_expires is None


def test_a_success_resets_the_failure_count(client, user):
    for _ in range(4):
        login(client, password="wrong")
    assert login(client).status_code == 200
    for _ in range(4):
        login(client, password="wrong")
    user.refresh_from_db()
    assert user.failed_login_attempts == 4 and user.lockout_expires is None


def test_an_expired_access_token_is_refused(client, user):
    token = login(client).data["access_token"]
    UserSession.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = bearer(token).get(f"{API}users/me/")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("change", [{"is_active": False}, {"deleted_at": timezone.now()}])
def test_tokens_stop_working_when_the_user_is_deactivated_or_deleted(client, user, change):
    token = login(client).data["access_token"]
    User.objects.filter(pk=user.pk).update(**change)
    assert bearer(token).get(f"{API}users/me/").status_code == 401


def test_garbage_and_missing_tokens_are_401(user):
    assert bearer("not-a-token").get(f"{API}users/me/").status_code == 401
    assert APIClient().get(f"{API}users/me/").status_code == 401


@override_settings(ACCESS_TOKEN_LIFETIME=timedelta(minutes=5))
def test_token_lifetimes_come_from_settings(client, user):
    login(client)
    session = UserSession.objects.get(user=user)
    assert timedelta(minutes=4) < session.expires_at - timezone.now() <= timedelta(minutes=5)
    assert session.refresh_expires_at - timezone.now() > timedelta(days=29)


def test_last_used_at_is_written_at_most_once_a_minute(client, user):
    token = login(client).data["access_token"]
    stale = timezone.now() - timedelta(minutes=5)
    UserSession.objects.filter(user=user).update(last_used_at=stale)
    bearer(token).get(f"{API}users/me/")
    first = UserSession.objects.get(user=user).last_used_at
    assert first > stale
    bearer(token).get(f"{API}users/me/")
    assert UserSession.objects.get(user=user).last_used_at == first


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(client, user):
    tokens = login(client).data
    rotated = client.post(f"{API}auth/refresh/", {"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200, rotated.data
    assert rotated.data["refresh_token"] != tokens["refresh_token"]
    assert rotated.data["access_token"] != tokens["access_token"]
    # The old access token died with the rotation; the new one works.
    assert bearer(tokens["access_token"]).get(f"{API}users/me/").status_code == 401
    assert bearer(rotated.data["access_token"]).get(f"{API}users/me/").status_code == 200
    # The old refresh token comes back: someone holds a copy, so the whole session goes.
    reused = client.post(f"{API}auth/refresh/", {"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    assert UserSession.objects.get(user=user).is_active is False
    assert bearer(rotated.data["access_token"]).get(f"{API}users/me/").status_code == 401
    assert (
        client.post(f"{API}auth/refresh/", {"refresh_token": rotated.data["refresh_token"]}).status_code
        == 401
    )
    assert UserActivity.objects.filter(user=user, action="refresh_reused").exists()


def test_refresh_refuses_expired_and_unknown_tokens(client, user):
    tokens = login(client).data
    assert client.post(f"{API}auth/refresh/", {"refresh_token": "1.bogus"}).status_code == 401
    assert client.post(f"{API}auth/refresh/", {"refresh_token": "bogus"}).status_code == 401
    # A digit int() refuses (superscript two) is a bad token, not a server error.
    assert client.post(f"{API}auth/refresh/", {"refresh_token": "\u00b2.abc"}).status_code == 401
    assert client.post(f"{API}auth/refresh/", {}).status_code == 400
    UserSession.objects.filter(user=user).update(refresh_expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(f"{API}auth/refresh/", {"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_revokes_the_current_session_only(client, user):
    first = login(client).data["access_token"]
    second = login(client).data["access_token"]
    assert bearer(first).post(f"{API}auth/logout/").status_code == 204
    assert bearer(first).get(f"{API}users/me/").status_code == 401
    assert bearer(second).get(f"{API}users/me/").status_code == 200
    assert UserActivity.objects.filter(user=user, action="logout").count() == 1


def test_sessions_list_and_revoke(client, user):
    first = login(client).data["access_token"]
    login(client)
    other = UserFactory()
    login(client, email=other.email)
    listing = bearer(first).get(f"{API}auth/sessions/")
    assert listing.status_code == 200
    rows = listing.data["results"]
    assert len(rows) == 2 and {row["user"] for row in rows} == {user.pk}
    assert sum(row["current"] for row in rows) == 1
    assert not any("token" in key for key in rows[0])
    second_id = next(row["id"] for row in rows if not row["current"])
    assert bearer(first).delete(f"{API}auth/sessions/{second_id}/").status_code == 204
    assert UserSession.objects.get(pk=second_id).is_active is False
    # Someone else's session: 404, and it stays alive.
    foreign = UserSession.objects.get(user=other)
    assert bearer(first).delete(f"{API}auth/sessions/{foreign.pk}/").status_code == 404
    assert UserSession.objects.get(pk=foreign.pk).is_active is True


def test_register_without_referral_code(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"{API}auth/register/", {"email": "New@Example.com", "password": STRONG, "first_name": "New"}
        )
    assert answer.status_code == 202, answer.data
    user = User.objects.get(email="new@example.com")
    assert (user.role, user.subscription_plan, user.is_verified) == ("public", "free", False)
    assert user.check_password(STRONG)
    assert user.referred_by is None
    assert "password" not in answer.data
    # A verification token is mailed; consuming it verifies the email, once.
    token = token_from_mail(mail.outbox[-1])
    assert mail.outbox[-1].to == ["new@example.com"]
    assert user.email_verification_token == token_digest(token)
    assert client.post(f"{API}auth/verify-email/", {"token": token}).status_code == 200
    user.refresh_from_db()
    assert user.is_verified and user.email_verification_token is None
    again = client.post(f"{API}auth/verify-email/", {"token": token})
    assert again.status_code == 400 and "token" in again.data


def test_register_with_referral_code_links_and_counts(client, user):
    answer = client.post(
        f"{API}auth/register/",
        {"email": "friend@example.com", "password": STRONG, "referral_code": user.referral_code},
    )
    assert answer.status_code == 202, answer.data
    friend = User.objects.get(email="friend@example.com")
    assert friend.referred_by == user
    user.refresh_from_db()
    assert user.referral_count == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "x@example.com", "password": "123"}, "password"),
        ({"email": "x@example.com", "password": "password"}, "password"),
        ({"email": "not-an-email", "password": STRONG}, "email"),
        ({"email": "x@example.com", "password": STRONG, "referral_code": "nope-nope"}, "referral_code"),
        ({"password": STRONG}, "email"),
    ],
)
def test_register_bad_input_names_the_field(client, user, data, field):
    answer = client.post(f"{API}auth/register/", data)
    assert answer.status_code == 400
    assert field in answer.data
    assert not User.objects.filter(email="x@example.com").exists()


def test_password_reset_is_single_use_and_always_202(client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post(f"{API}auth/password-reset/", {"email": "nobody@example.com"})
    assert unknown.status_code == 202 and len(mail.outbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(f"{API}auth/password-reset/", {"email": "ada@example.com"})
    assert known.status_code == 202 and known.data == unknown.data
    token = token_from_mail(mail.outbox[0])
    user.refresh_from_db()
    assert user.reset_password_token == token_digest(token)
    session_token = login(client).data["access_token"]
    UserSession.objects.filter(user=user).update(updated_at=timezone.now() - timedelta(days=29))

    done = client.post(f"{API}auth/password-reset/confirm/", {"token": token, "password": STRONG})
    assert done.status_code == 202
    # Ended now, which their retention counts from (prune_users), not when last changed.
    ended = UserSession.objects.get(user=user, is_active=False)
    assert timezone.now() - ended.updated_at < timedelta(minutes=1)
    assert login(client, password=STRONG).status_code == 200
    assert login(client, password=PASSWORD).status_code == 401
    # Existing sessions end with the old password.
    assert bearer(session_token).get(f"{API}users/me/").status_code == 401
    # Single use.
    again = client.post(
        f"{API}auth/password-reset/confirm/", {"token": token, "password": "an0ther-pass-phrase"}
    )
    assert again.status_code == 400 and "token" in again.data
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_password_reset_token_expires(client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{API}auth/password-reset/", {"email": "ada@example.com"})
    token = token_from_mail(mail.outbox[0])
    User.objects.filter(pk=user.pk).update(reset_password_expires=timezone.now() - timedelta(seconds=1))
    answer = client.post(f"{API}auth/password-reset/confirm/", {"token": token, "password": STRONG})
    assert answer.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_confirm_checks_the_password(client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{API}auth/password-reset/", {"email": "ada@example.com"})
    token = token_from_mail(mail.outbox[0])
    weak = client.post(f"{API}auth/password-reset/confirm/", {"token": token, "password": "12345678"})
    assert weak.status_code == 400 and "password" in weak.data
    # The token survives a rejected password.
    assert (
        client.post(f"{API}auth/password-reset/confirm/", {"token": token, "password": STRONG}).status_code
        == 202
    )


def test_login_is_throttled_per_ip_with_retry_after(client, user):
    answers = [login(client, password="wrong").status_code for _ in range(11)]
    # Five failures lock the account (all answered 401), the eleventh call is throttled.
    assert answers[-1] == 429
    throttled = login(client)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


@override_settings(
    MAILERS={
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens there
        }
    }
)
def test_a_mail_failure_does_not_lose_the_registration(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        answer = client.post(f"{API}auth/register/", {"email": "late@example.com", "password": STRONG})
        reset = client.post(f"{API}auth/password-reset/", {"email": "late@example.com"})
    assert answer.status_code == 202 and reset.status_code == 202
    assert len(queued) == 2  # both mails were queued after the commit, and their failure stayed there
    assert User.objects.filter(email="late@example.com").exists()
