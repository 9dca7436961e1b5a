"""One login policy for every door (the API and /admin/login/), and no way to tell who has an account."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from users.models import User, UserActivity
from users.tasks import MAIL_RETRIES, mail_send
from users.tests.factories import PASSWORD, AdminUserFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/"
STRONG = "c0rrect-h0rse-battery"


def api_login(email, password=PASSWORD, ip="10.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post(f"{API}auth/login/", {"email": email, "password": password})


def admin_login(email, password=PASSWORD, ip="10.0.0.1"):
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})
    return client, response


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.fixture
def staff():
    return AdminUserFactory(email="root@example.com")


def test_the_admin_logs_in_and_records_it(staff):
    client, response = admin_login("ROOT@example.com")
    assert logged_in(response)
    assert client.get("/admin/").status_code == 200
    row = UserActivity.objects.get(user=staff, action="login")
    assert row.details == {"channel": "admin"} and row.ip_address == "10.0.0.1"


def test_a_wrong_admin_password_counts_towards_the_lockout_and_is_recorded(staff):
    _, response = admin_login(staff.email, password="wrong")
    assert response.status_code == 200 and not logged_in(response)
    staff.refresh_from_db()
    assert staff.failed_login_attempts == 1
    failure = UserActivity.objects.get(user=staff, action="login_failed")
    assert failure.details["channel"] == "admin"


def test_an_account_locked_on_the_api_is_locked_on_the_admin(staff):
    for _ in range(5):
        assert api_login(staff.email, password="wrong").status_code == 401
    staff.refresh_from_db()
    assert staff.lockout_expires > timezone.now()
    _, response = admin_login(staff.email)  # the right password
    assert not logged_in(response)
    assert "correct email" in response.content.decode().lower()  # the admin's usual wrong-login text
    assert UserActivity.objects.filter(user=staff, action="login_failed", details__reason="locked").exists()


def test_failures_on_the_admin_lock_the_api_too(staff):
    for _ in range(5):
        admin_login(staff.email, password="wrong")
    assert api_login(staff.email).status_code == 401
    User.objects.filter(pk=staff.pk).update(lockout_expires=timezone.now() - timedelta(seconds=1))
    assert api_login(staff.email).status_code == 200


def test_a_user_who_is_not_staff_is_refused_by_the_admin_like_a_wrong_password():
    user = UserFactory(email="plain@example.com")
    _, response = admin_login(user.email)
    assert not logged_in(response)
    assert UserActivity.objects.get(user=user, action="login_failed").details["reason"] == "not_staff"


def test_the_admin_is_throttled_per_ip(staff, settings):
    answers = [admin_login(f"nobody{n}@example.com", ip="10.0.0.9")[1] for n in range(10)]
    assert all(response.status_code == 200 for response in answers)
    _, throttled = admin_login(staff.email, ip="10.0.0.9")  # even the right password
    assert not logged_in(throttled)
    assert "Too many login attempts" in throttled.content.decode()
    _, elsewhere = admin_login(staff.email, ip="10.0.0.10")
    assert logged_in(elsewhere)


def test_logins_are_throttled_per_account_across_ips():
    user = UserFactory(email="target@example.com")
    # Ten tries from ten addresses: the lockout stops the password, the account's rate the tries.
    for n in range(10):
        api_login(user.email, password="wrong", ip=f"10.1.0.{n}")
    throttled = api_login(user.email, ip="10.1.0.99")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert throttled.json()["code"] == "throttled"
    assert api_login("other@example.com", ip="10.1.0.99").status_code == 401  # another account


def test_the_lockout_is_mailed_to_the_owner(django_capture_on_commit_callbacks):
    user = UserFactory(email="owner@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            api_login(user.email, password="wrong")
    locked = [message for message in mail.outbox if "locked" in message.subject]
    assert len(locked) == 1 and locked[0].to == ["owner@example.com"]


def test_registering_a_taken_email_answers_like_a_new_one(django_capture_on_commit_callbacks):
    UserFactory(email="taken@example.com")
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post(f"{API}auth/register/", {"email": "Taken@example.com", "password": STRONG})
        new = client.post(f"{API}auth/register/", {"email": "fresh@example.com", "password": STRONG})
    assert taken.status_code == new.status_code == 202
    assert taken.json() == new.json()
    assert User.objects.filter(email="taken@example.com").count() == 1
    (to_taken,) = [message for message in mail.outbox if message.to == ["taken@example.com"]]
    assert "already has one" in to_taken.body
    (to_new,) = [message for message in mail.outbox if message.to == ["fresh@example.com"]]
    assert "verification token" in to_new.body


def test_a_weak_password_is_refused_for_a_taken_email_too():
    UserFactory(email="taken@example.com")
    taken = APIClient().post(f"{API}auth/register/", {"email": "taken@example.com", "password": "123"})
    new = APIClient().post(f"{API}auth/register/", {"email": "new@example.com", "password": "123"})
    assert taken.status_code == new.status_code == 400
    assert taken.json() == new.json()


@override_settings(
    MAILERS={"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {}}}
)
def test_production_mail_defaults_never_fail_registration_or_reset(django_capture_on_commit_callbacks):
    UserFactory(email="known@example.com")
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        register = client.post(f"{API}auth/register/", {"email": "x@example.com", "password": STRONG})
        known = client.post(f"{API}auth/password-reset/", {"email": "known@example.com"})
        unknown = client.post(f"{API}auth/password-reset/", {"email": "unknown@example.com"})
    assert register.status_code == known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


class _FlakyBackend:
    """A mail backend that fails the first `failures` sends."""

    failures = 0
    sent: list = []

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        if _FlakyBackend.failures:
            _FlakyBackend.failures -= 1
            raise ConnectionRefusedError("mail server down")
        _FlakyBackend.sent.extend(messages)
        return len(messages)


FLAKY = {"default": {"BACKEND": f"{__name__}._FlakyBackend", "OPTIONS": {}}}


@override_settings(MAILERS=FLAKY)
def test_the_mail_task_retries_until_the_server_answers():
    _FlakyBackend.failures, _FlakyBackend.sent = 2, []
    mail_send.delay(to="a@example.com", subject="Hi", body="there")
    assert [message.to for message in _FlakyBackend.sent] == [["a@example.com"]]


@override_settings(MAILERS=FLAKY)
def test_the_mail_task_gives_up_after_its_retries_without_failing_the_caller(caplog):
    _FlakyBackend.failures, _FlakyBackend.sent = MAIL_RETRIES + 5, []
    result = mail_send.delay(to="a@example.com", subject="Hi", body="there")
    assert result.failed() and _FlakyBackend.sent == []
    assert _FlakyBackend.failures == 4  # one first attempt and MAIL_RETRIES retries
    assert "Gave up mailing" in caplog.text
