"""Delete old activity records and ended sessions (retention)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cryptopredict.management.common import BAD_ARGUMENTS
from users.services import retention


class Command(BaseCommand):
    help = (
        "Delete user activity records older than --activity-days (default USER_ACTIVITY_RETENTION_DAYS, "
        "365), API sessions ended more than --session-days ago (default USER_SESSION_RETENTION_DAYS, "
        "30) and the admin's expired login sessions. Runs daily on Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--activity-days", type=int, default=None)
        parser.add_argument("--session-days", type=int, default=None)

    def handle(self, *args, **options):
        activity_days, session_days = options["activity_days"], options["session_days"]
        activity_days = settings.USER_ACTIVITY_RETENTION_DAYS if activity_days is None else activity_days
        session_days = settings.USER_SESSION_RETENTION_DAYS if session_days is None else session_days
        for name, days in (("--activity-days", activity_days), ("--session-days", session_days)):
            if days < 1:
                raise CommandError(f"{name} must be at least 1", returncode=BAD_ARGUMENTS)
        now = timezone.now()
        activities = retention.activities_prune(before=now - timedelta(days=activity_days))
        sessions = retention.sessions_prune(before=now - timedelta(days=session_days))
        retention.django_sessions_clear()
        self.stdout.write(
            f"{activities} activity record(s) older than {activity_days} days and {sessions} session(s)"
            f" ended more than {session_days} days ago deleted; expired admin logins cleared"
        )
