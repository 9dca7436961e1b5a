from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from cryptopredict.management.common import DRY_RUN_NOTE, dry_run_argument, dry_run_rolled_back


class Command(BaseCommand):
    help = (
        "Delete change history older than HISTORY_RETENTION_DAYS (default 365) from every model that "
        "keeps history, with django-simple-history's clean_old_history. Runs daily on Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Keep this many days instead of the setting."
        )
        dry_run_argument(parser, help="delete and count, then roll the deletions back")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.HISTORY_RETENTION_DAYS if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        with dry_run_rolled_back(dry_run):
            call_command("clean_old_history", auto=True, days=days, stdout=self.stdout, stderr=self.stderr)
        note = DRY_RUN_NOTE if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{note}history older than {days} days pruned"))
