from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from assets.services.resampling import candles_resample
from cryptopredict.choices import Timeframe
from cryptopredict.management.common import BAD_ARGUMENTS
from cryptopredict.progress import progress_bar

from ._shared import asset_get


class Command(BaseCommand):
    help = (
        "Build higher-timeframe candles of an asset from its stored lower-timeframe ones (first open, "
        "max high, min low, last close, sum of volumes), for complete periods only. Idempotent. "
        "Exit code: 0 done, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True, help="the asset's symbol")
        parser.add_argument("--from", dest="source", required=True, choices=Timeframe.values)
        parser.add_argument("--to", dest="target", required=True, choices=Timeframe.values)
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, **options):
        asset = asset_get(options["symbol"])
        try:
            # A dry run does the work in one transaction and rolls it back; a real run commits as it goes.
            with transaction.atomic() if options["dry_run"] else nullcontext():
                with progress_bar(desc=f"{asset.symbol} {options['source']} -> {options['target']}") as bar:
                    result = candles_resample(
                        asset=asset, source_tf=options["source"], target_tf=options["target"], progress=bar
                    )
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        prefix = "dry run, nothing written: " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}{asset.symbol} {options['target']}: {result.inserted} inserted, "
            f"{result.updated} updated, {result.unchanged} unchanged"
        )
