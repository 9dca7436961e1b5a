from datetime import date

from django.core.management.base import BaseCommand, CommandError

from cryptopredict.choices import Timeframe
from cryptopredict.management.common import (
    BAD_ARGUMENTS,
    DRY_RUN_NOTE,
    REJECTED,
    dry_run_argument,
    dry_run_rolled_back,
)
from cryptopredict.progress import progress_bar
from cryptopredict.timeframes import timeframe_argument
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
        parser.add_argument(
            "--timeframe", default=Timeframe.D1, type=timeframe_argument, metavar="TF", help="default: 1d"
        )
        parser.add_argument("--since", help="only periods from this date on (YYYY-MM-DD), default: all")
        dry_run_argument(parser)

    def handle(self, *args, **options):
        since = _date(options["since"]) if options["since"] else None
        try:
            desc = f"{options['timeframe']} snapshots"
            with dry_run_rolled_back(options["dry_run"]), progress_bar(desc=desc, unit="snapshots") as bar:
                counts = snapshots_build(timeframe=options["timeframe"], since=since, progress=bar)
        except MetricsError as exc:
            raise CommandError(str(exc), returncode=REJECTED) from None
        prefix = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}{options['timeframe']} snapshots: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
        )
