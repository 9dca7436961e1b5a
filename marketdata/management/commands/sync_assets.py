from django.core.management.base import BaseCommand, CommandError

from marketdata.services.assets import assets_sync

FAILED = 1


class Command(BaseCommand):
    help = (
        "Sync assets from CoinGecko: the top COINGECKO_MARKET_PAGES pages of /coins/markets (USD; 24h, "
        "7d, 30d changes) into the assets' market fields, as import_assets does, then the daily market "
        "caps of the tracked assets onto their stored daily candles (for the snapshots' dominance). "
        "Exit code: 0 done, 1 the source failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pages", type=int, help="pages of 250 coins (default COINGECKO_MARKET_PAGES)")

    def handle(self, *args, **options):
        report = assets_sync(pages=options["pages"])
        self.stdout.write(report.summary())
        if report.errors:
            raise CommandError(report.errors[0], returncode=FAILED)
