import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from assets.services.archiving import candles_archive
from cryptopredict.management.common import BAD_ARGUMENTS, DRY_RUN_NOTE, dry_run_argument, dry_run_rolled_back
from cryptopredict.progress import progress_bar
from cryptopredict.timeframes import timeframe_argument

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def age_parse(text: str) -> timedelta:
    """Return an age such as 365d, 12h, 4w or 30m as a timedelta."""
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if not match:
        raise CommandError(
            f"bad --older-than {text!r}: use a number and m, h, d or w (365d)", returncode=BAD_ARGUMENTS
        )
    try:
        age = timedelta(**{UNITS[match[2]]: int(match[1])})
    except OverflowError:
        age = timedelta.max
    if age >= timezone.now() - datetime.min.replace(tzinfo=UTC):  # the cutoff must be a date
        raise CommandError(
            f"bad --older-than {text!r}: that reaches back before the year 1", returncode=BAD_ARGUMENTS
        )
    return age


class Command(BaseCommand):
    help = (
        "Move candles older than an age to price_data_archive in batches, each batch one transaction "
        "(insert then delete): a crash loses nothing and a rerun finishes the job. "
        "Exit code: 0 done, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="age of the candles to move, e.g. 365d")
        parser.add_argument("--timeframe", type=timeframe_argument, metavar="TF", help="only this timeframe")
        parser.add_argument("--batch-size", type=int, default=10_000, help="candles per transaction")
        dry_run_argument(parser, help="move and count, then roll the moves back")

    def handle(self, *args, **options):
        age = age_parse(options["older_than"])
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1", returncode=BAD_ARGUMENTS)
        with dry_run_rolled_back(options["dry_run"]), progress_bar(desc="archive") as bar:
            moved = candles_archive(
                older_than=age, timeframe=options["timeframe"], batch_size=options["batch_size"], progress=bar
            )
        note = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(f"{note}moved {moved} candles older than {options['older_than']} to the archive")
