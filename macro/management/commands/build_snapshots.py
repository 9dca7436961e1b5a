from datetime import date

from django.core.management.base import BaseCommand, CommandError

from cryptopredict.choices import Timeframe
from cryptopredict.management.common import BAD_ARGUMENTS, REJECTED
from cryptopredict.progress import progress_bar
from macro.services.fields import MetricsError
from macro.services.snapshots import snapshots_build


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not a date (YYYY-MM-DD)", returncode=BAD_ARGUMENTS) from None


class Command(BaseCommand):
    help = (
        "Compute MetricsSnapshot rows from stored candles, one per BTC candle: BTC price, RSI-14, "
        "SMA/EMA-200, weekly and monthly return, BTC-ETH 30d correlation, dominance among tracked "
        "assets, halving countdown, breadth, new highs/lows, momentum. Imported external metrics "
        "are kept; running it twice changes nothing. Exit code: 0 done, 1 no data, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeframe", default=Timeframe.D1, choices=Timeframe.values, help="default: 1d")
        parser.add_argument("--since", help="only periods from this date on (YYYY-MM-DD), default: all")
        parser.add_argument("--dry-run", action="store_true", help="compute and count, write nothing")

    def handle(self, *args, **options):
        since = _date(options["since"]) if options["since"] else None
        try:
            with progress_bar(desc=f"{options['timeframe']} snapshots", unit="snapshots") as bar:
                counts = snapshots_build(
                    timeframe=options["timeframe"], since=since, dry_run=options["dry_run"], progress=bar
                )
        except MetricsError as exc:
            raise CommandError(str(exc), returncode=REJECTED) from None
        prefix = "dry run, nothing written: " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}{options['timeframe']} snapshots: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
        )
