from django.core.management.base import BaseCommand, CommandError

from cryptopredict.management.common import (
    DRY_RUN_NOTE,
    REJECTED,
    dry_run_argument,
    dry_run_rolled_back,
    existing_file,
    rejections_show,
)
from cryptopredict.progress import progress_bar
from macro.services.fields import METRIC_FIELDS, MetricsError
from macro.services.metrics_import import metrics_import


class Command(BaseCommand):
    help = (
        "Upsert external macro metrics (fear & greed, funding, open interest, dominance, S&P 500, "
        "gold, DXY, VIX, 10y yield...) into MetricsSnapshot by (snapshot_time, timeframe). FILE is "
        "a CSV with a header or a JSON array of objects; keys are field names, plus snapshot_time "
        "and timeframe (default 1d). Empty values keep what is stored; a new period needs "
        "btc_price_usd or a BTC candle. Bad rows are rejected with their line, good rows kept. "
        "Exit code: 0 done, 1 rows or the file rejected, 2 bad arguments. Fields: " + ", ".join(METRIC_FIELDS)
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or JSON file of metrics")
        dry_run_argument(parser)

    def handle(self, *args, **options):
        path = existing_file(options["file"])
        try:
            with (
                dry_run_rolled_back(options["dry_run"]),
                progress_bar(desc=path.name, unit="snapshots") as bar,
            ):
                counts = metrics_import(path=path, progress=bar)
        except MetricsError as exc:
            raise CommandError(str(exc), returncode=REJECTED) from None
        prefix = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(f"{prefix}{path.name}: {counts.summary()}")
        if counts.rejected:
            rejections_show(self, counts.rejected)
            raise CommandError(f"{len(counts.rejected)} rows rejected", returncode=REJECTED)
