from django.core.management.base import BaseCommand, CommandError

from assets.models import PriceData
from assets.services.partitions import MONTHS_AHEAD, candle_partitions_create, is_partitioned
from cryptopredict.management.common import BAD_ARGUMENTS


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of price_data for this month and the next N, and one for "
        "each month whose candles sit in a DEFAULT partition of price_data or price_data_archive "
        "(they move into it). Idempotent; PostgreSQL only (SQLite keeps one table). "
        "Exit code: 0 done, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=MONTHS_AHEAD,
            help=f"months after this one (default {MONTHS_AHEAD})",
        )

    def handle(self, *args, **options):
        if options["months_ahead"] < 0:
            raise CommandError("--months-ahead must be 0 or more", returncode=BAD_ARGUMENTS)
        if not is_partitioned(PriceData):
            self.stdout.write("the candle tables are not partitioned here (PostgreSQL only): nothing to do")
            return
        created = candle_partitions_create(months_ahead=options["months_ahead"])
        self.stdout.write(
            f"created {len(created)} partitions" + (f": {', '.join(created)}" if created else "")
        )
