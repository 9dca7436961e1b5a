from django.core.management.base import BaseCommand, CommandError

from cryptopredict.aggregates import aggregates_refresh
from cryptopredict.management.common import BAD_ARGUMENTS


class Command(BaseCommand):
    help = (
        "Refresh the aggregate materialized views (latest candles, daily sector figures) concurrently: "
        "all of them, or those named. Beat runs it hourly; writes refresh them on their own. "
        "Nothing to do off PostgreSQL, where they are plain views."
    )

    def add_arguments(self, parser):
        parser.add_argument("views", nargs="*", help="Views to refresh (default: every materialized view).")

    def handle(self, *args, views=(), **options):
        try:
            refreshed = aggregates_refresh(views=list(views) or None)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        if not refreshed:
            self.stdout.write("no materialized views here (plain views are always current)")
            return
        self.stdout.write(self.style.SUCCESS(f"refreshed {', '.join(refreshed)}"))
