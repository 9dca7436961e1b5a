from django.core.management.base import BaseCommand, CommandError

from assets.importers import ImportFormatError
from assets.services.asset_import import assets_import
from cryptopredict.management.common import (
    DRY_RUN_NOTE,
    REJECTED,
    dry_run_argument,
    dry_run_rolled_back,
    existing_file,
    rejections_show,
)


class Command(BaseCommand):
    help = (
        "Upsert assets by symbol from a CoinGecko /coins/markets JSON list (every field it has; 7d/30d "
        "changes from the *_in_currency keys; other keys kept in metrics_details). Idempotent. "
        "Exit code: 0 done, 1 elements or the file rejected, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a JSON file of GET /coins/markets")
        dry_run_argument(parser)

    def handle(self, *args, **options):
        path = existing_file(options["file"])
        try:
            with dry_run_rolled_back(options["dry_run"]):
                result = assets_import(path=path)
        except ImportFormatError as exc:
            raise CommandError(str(exc), returncode=REJECTED) from None
        prefix = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(f"{prefix}assets: {result.summary()}")
        if result.rejected:
            rejections_show(self, result.rejected, label="element")
            raise CommandError(f"{len(result.rejected)} elements rejected", returncode=REJECTED)
