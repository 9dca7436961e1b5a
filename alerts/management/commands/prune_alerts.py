"""Delete old firings with their notifications and deliveries (retention)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alerts import services
from cryptopredict.management.common import BAD_ARGUMENTS


class Command(BaseCommand):
    help = (
        "Delete firings older than --days (default ALERT_RETENTION_DAYS, 180), with their in-app "
        "notifications and deliveries; firings with a delivery still due are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args, **options):
        days = settings.ALERT_RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1", returncode=BAD_ARGUMENTS)
        deleted = services.firings_prune(before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{deleted} firing(s) older than {days} days deleted")
