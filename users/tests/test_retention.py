"""Retention of the users app's growing tables: activity records, ended sessions, admin logins."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone

from users.models import UserActivity, UserSession
from users.services.retention import activities_prune, sessions_prune
from users.tasks import prune
from users.tests.factories import UserActivityFactory, UserSessionFactory

pytestmark = pytest.mark.django_db


def aged(instance, **times):
    """Set timestamps the model fills itself (created_at, updated_at) with one UPDATE."""
    type(instance).objects.filter(pk=instance.pk).update(**times)
    return instance


def test_activities_older_than_the_cut_off_are_deleted_in_batches():
    now = timezone.now()
    old = [aged(UserActivityFactory(), created_at=now - timedelta(days=400)) for _ in range(3)]
    recent = UserActivityFactory()

    assert activities_prune(before=now - timedelta(days=365), batch=2) == 3

    assert list(UserActivity.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not UserActivity.objects.filter(pk__in=[a.pk for a in old]).exists()


def test_only_sessions_that_ended_before_the_cut_off_are_deleted_and_their_activities_stay():
    now, long_ago = timezone.now(), timezone.now() - timedelta(days=60)
    revoked = aged(UserSessionFactory(is_active=False), updated_at=long_ago)
    UserSessionFactory(refresh_expires_at=long_ago, expires_at=long_ago)
    UserSessionFactory(refresh_expires_at=None, expires_at=long_ago)
    live = UserSessionFactory(refresh_expires_at=now + timedelta(days=20))
    revoked_lately = UserSessionFactory(is_active=False)  # updated_at: now
    activity = UserActivityFactory(session=revoked, user=revoked.user)

    assert sessions_prune(before=now - timedelta(days=30), batch=1) == 3

    assert set(UserSession.objects.values_list("pk", flat=True)) == {live.pk, revoked_lately.pk}
    activity.refresh_from_db()
    assert activity.session_id is None


def test_the_daily_task_prunes_by_the_settings_and_clears_expired_admin_logins(settings):
    settings.USER_ACTIVITY_RETENTION_DAYS = 10
    now = timezone.now()
    old = aged(UserActivityFactory(), created_at=now - timedelta(days=11))
    kept = UserActivityFactory()
    Session.objects.create(session_key="expired", session_data="", expire_date=now - timedelta(seconds=1))
    Session.objects.create(session_key="current", session_data="", expire_date=now + timedelta(days=1))

    prune()

    assert list(UserActivity.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not UserActivity.objects.filter(pk=old.pk).exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_the_command_says_what_it_deleted_and_refuses_a_retention_under_a_day():
    aged(UserActivityFactory(), created_at=timezone.now() - timedelta(days=3))
    out = StringIO()
    call_command("prune_users", "--activity-days", "2", stdout=out)
    assert out.getvalue().startswith("1 activity record(s) older than 2 days and 0 session(s) ended more")

    with pytest.raises(CommandError, match="--session-days must be at least 1") as raised:
        call_command("prune_users", "--session-days", "0")
    assert raised.value.returncode == 2
