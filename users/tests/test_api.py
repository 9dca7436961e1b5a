"""Profiles, users, sessions and the audit trail through the API; throttling by plan."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cryptopredict.choices import UserRole
from cryptopredict.testing.api import APIViewTestCases
from users.choices import SubscriptionPlan
from users.models import User, UserActivity, UserSession
from users.tests.factories import (
    PASSWORD,
    AdminUserFactory,
    UserActivityFactory,
    UserFactory,
    UserSessionFactory,
)

API = "/api/v1/"


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def user(db):
    return UserFactory()


def test_me_shows_and_changes_only_the_profile(user):
    client = client_for(user)
    shown = client.get(f"{API}users/me/")
    assert shown.status_code == 200 and shown.data["email"] == user.email
    assert "password" not in shown.data and "reset_password_token" not in shown.data
    answer = client.patch(
        f"{API}users/me/",
        {
            "preferences": {"theme": "dark"},
            "timezone": "Europe/Paris",
            "language": "fr",
            "role": UserRole.ADMIN,
            "subscription_plan": SubscriptionPlan.ENTERPRISE,
            "account_balance": "1000000",
            "is_staff": True,
            "is_verified": True,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.data
    user.refresh_from_db()
    assert (user.preferences, user.timezone, user.language) == ({"theme": "dark"}, "Europe/Paris", "fr")
    assert (user.role, user.subscription_plan, user.account_balance) == ("public", "free", 0)
    assert not user.is_staff and not user.is_verified
    activity = UserActivity.objects.get(user=user, activity_type="api", action="update")
    assert activity.details["changed_fields"] == ["language", "preferences", "timezone"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"language": "klingon"}, "language"),
        ({"preferences": [1, 2]}, "preferences"),
        ({"profile_picture_url": "not a url"}, "profile_picture_url"),
        ({"first_name": "x" * 51}, "first_name"),
    ],
)
def test_me_bad_input_names_the_field(user, data, field):
    answer = client_for(user).patch(f"{API}users/me/", data, format="json")
    assert answer.status_code == 400 and field in answer.data


def test_guest_has_a_profile_but_no_activities(db):
    guest = client_for(UserFactory(role=UserRole.GUEST))
    assert guest.get(f"{API}users/me/").status_code == 200
    assert guest.get(f"{API}user-activities/").status_code == 403


def test_users_list_public_sees_themselves_admin_sees_all(user):
    other = UserFactory()
    listed = client_for(user).get(f"{API}users/")
    assert [row["id"] for row in listed.data["results"]] == [user.pk]
    assert client_for(user).get(f"{API}users/{other.pk}/").status_code == 404
    admin = AdminUserFactory()
    everyone = client_for(admin).get(f"{API}users/?page_size=100")
    assert {row["id"] for row in everyone.data["results"]} == {user.pk, other.pk, admin.pk}


def test_only_admins_write_users(user):
    other = UserFactory()
    assert client_for(user).patch(f"{API}users/{user.pk}/", {"role": "admin"}).status_code == 403
    assert client_for(user).patch(f"{API}users/{other.pk}/", {"is_active": False}).status_code == 403
    admin = client_for(AdminUserFactory())
    answer = admin.patch(f"{API}users/{other.pk}/", {"subscription_plan": "pro", "role": "guest"})
    assert answer.status_code == 200, answer.data
    other.refresh_from_db()
    assert (other.subscription_plan, other.role) == ("pro", "guest")
    assert admin.patch(f"{API}users/{other.pk}/", {"subscription_plan": "platinum"}).status_code == 400
    assert admin.post(f"{API}users/", {"email": "x@example.com"}).status_code == 405
    # DELETE soft-deletes: the user can no longer log in.
    assert admin.delete(f"{API}users/{other.pk}/").status_code == 204
    other.refresh_from_db()
    assert other.deleted_at is not None
    login = APIClient().post(f"{API}auth/login/", {"email": other.email, "password": PASSWORD})
    assert login.status_code == 401


def test_api_writes_are_audited_with_the_bearer_session(user):
    tokens = APIClient().post(f"{API}auth/login/", {"email": user.email, "password": PASSWORD}).data
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_USER_AGENT="pytest/1")
    assert client.patch(f"{API}users/me/", {"language": "de"}).status_code == 200
    activity = UserActivity.objects.get(user=user, activity_type="api")
    assert activity.session.user == user and activity.session.is_active
    assert (activity.entity_type, activity.entity_id, activity.user_agent) == (
        "users.user",
        user.pk,
        "pytest/1",
    )
    assert activity.ip_address == "127.0.0.1"


def test_activities_are_read_only_and_cursor_paginated(user):
    mine = UserActivityFactory(user=user)
    UserActivityFactory()
    client = client_for(user)
    listed = client.get(f"{API}user-activities/")
    assert [row["id"] for row in listed.data["results"]] == [mine.pk]
    assert "count" not in listed.data  # cursor pagination: no COUNT(*)
    assert client.post(f"{API}user-activities/", {"action": "x"}).status_code == 405
    assert client.patch(f"{API}user-activities/{mine.pk}/", {"action": "x"}).status_code == 405
    assert client.delete(f"{API}user-activities/{mine.pk}/").status_code == 405
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{API}user-activities/")
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)


def test_free_plan_is_throttled_at_60_a_minute_with_retry_after(user):
    client = client_for(user)
    statuses = [client.get(f"{API}users/me/").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    throttled = client.get(f"{API}users/me/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # Counters are per user: someone else is not affected.
    assert client_for(UserFactory()).get(f"{API}users/me/").status_code == 200


def test_higher_plans_have_higher_limits(db):
    client = client_for(UserFactory(subscription_plan=SubscriptionPlan.BASIC))
    assert all(client.get(f"{API}users/me/").status_code == 200 for _ in range(70))


def test_anonymous_auth_endpoints_are_throttled_per_ip(db):
    client = APIClient()
    statuses = [
        client.post(f"{API}auth/password-reset/", {"email": "x@example.com"}).status_code for _ in range(21)
    ]
    assert statuses[:20] == [202] * 20 and statuses[20] == 429
    # Another client address has its own budget.
    assert (
        client.post(
            f"{API}auth/password-reset/", {"email": "x@example.com"}, REMOTE_ADDR="10.0.0.9"
        ).status_code
        == 202
    )


class UserActivityAPITest(APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase):
    model = UserActivity
    basename = "useractivity"
    query_budget = {"list": 1, "retrieve": 1}
    factory = UserActivityFactory
    owner_field = "user"
    # Own activities for public users; all for admins and staff with the view permission.
    permissions = {
        "list": {
            "anonymous": 401,
            "guest": 403,
            "owner": 200,
            "other": 200,
            "staff": 200,
            "staff_with_permission": 200,
            "admin": 200,
        },
        "retrieve": {
            "anonymous": 401,
            "guest": 403,
            "owner": 200,
            "other": 404,
            "staff": 404,
            "staff_with_permission": 200,
            "admin": 200,
        },
    }


def statuses(anonymous, guest, owner, other, staff, staff_with_permission, admin) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "guest": guest,
        "owner": owner,
        "other": other,
        "staff": staff,
        "staff_with_permission": staff_with_permission,
        "admin": admin,
    }


class UserAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    """`users/` on a user of no role here: everyone lists (themselves), admins and permitted staff
    read and write everyone; accounts are made by registration, never POSTed (405)."""

    model = User
    basename = "user"
    query_budget = {"list": 2, "retrieve": 1, "update": 11, "destroy": 5}
    factory = UserFactory
    permissions = {
        "list": statuses(401, 200, 200, 200, 200, 200, 200),
        "retrieve": statuses(401, 404, 404, 404, 404, 200, 200),
        "partial_update": statuses(401, 403, 403, 403, 403, 200, 200),
        "destroy": statuses(401, 403, 403, 403, 403, 204, 204),
    }
    update_data = {"subscription_plan": "pro", "role": "guest", "notes": "moved to a team plan"}
    # Secrets are never filtered on; the profile's and the admins' free text is not searched.
    filter_exclusions = ("password", "reset_password_token", "email_verification_token", "bio", "notes")


class UserSessionAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    """`auth/sessions/`: one's own sessions (admins and permitted staff: everyone's); DELETE revokes."""

    model = UserSession
    basename = "usersession"
    query_budget = {"list": 2, "retrieve": 1, "destroy": 3}
    factory = UserSessionFactory
    owner_field = "user"
    filter_exclusions = ("session_token", "refresh_token")  # digests of the tokens: never filtered on
    permissions = {
        "list": statuses(401, 200, 200, 200, 200, 200, 200),
        "retrieve": statuses(401, 404, 200, 404, 404, 200, 200),
        "destroy": statuses(401, 404, 204, 404, 404, 204, 204),
    }

    def assert_deleted(self, pk) -> None:
        """A revoked session stays, inactive: its tokens stop working."""
        self.assertFalse(UserSession.objects.get(pk=pk).is_active)

    def assert_delete_recorded(self, pk, user) -> None:
        """A revocation is recorded as one (by the auth service), not as an API delete."""
        activity = UserActivity.objects.get(action="session_revoked", entity_id=pk)
        self.assertEqual(activity.user_id, user.pk)
