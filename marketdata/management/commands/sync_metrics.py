from django.core.management.base import BaseCommand, CommandError

from marketdata.services.metrics import metrics_sync

FAILED = 1


class Command(BaseCommand):
    help = (
        "Fetch the Fear & Greed index (alternative.me) and the FRED series SP500, DTWEXBGS (dollar "
        "index), DGS10 and VIXCLS, and merge them into the daily snapshots as import_metrics does. "
        "Without FRED_API_KEY the FRED series are skipped with a note. "
        "Exit code: 0 done, 1 a source failed."
    )

    def handle(self, *args, **options):
        report = metrics_sync()
        for line in report.lines + report.notes:
            self.stdout.write(line)
        for error in report.errors:
            self.stderr.write(error)
        if report.errors:
            raise CommandError(f"{len(report.errors)} sources failed", returncode=FAILED)
