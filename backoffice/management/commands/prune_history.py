from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Delete change history older than HISTORY_RETENTION_DAYS (default 365) from every model that "
        "keeps history, with django-simple-history's clean_old_history. Runs daily on Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Keep this many days instead of the setting."
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would go; delete nothing.")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.HISTORY_RETENTION_DAYS if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        call_command(
            "clean_old_history", auto=True, days=days, dry=dry_run, stdout=self.stdout, stderr=self.stderr
        )
        self.stdout.write(
            self.style.SUCCESS(f"history older than {days} days {'counted' if dry_run else 'pruned'}")
        )
