from django.core.management.base import BaseCommand, CommandError

from assets.services.resampling import candles_resample
from cryptopredict.management.common import BAD_ARGUMENTS, DRY_RUN_NOTE, dry_run_argument, dry_run_rolled_back
from cryptopredict.progress import progress_bar
from cryptopredict.timeframes import timeframe_argument

from ._shared import asset_get


class Command(BaseCommand):
    help = (
        "Build higher-timeframe candles of an asset from its stored lower-timeframe ones (first open, "
        "max high, min low, last close, sum of volumes), for complete periods only. Idempotent. "
        "Exit code: 0 done, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True, help="the asset's symbol")
        parser.add_argument("--from", dest="source", required=True, type=timeframe_argument, metavar="TF")
        parser.add_argument("--to", dest="target", required=True, type=timeframe_argument, metavar="TF")
        dry_run_argument(parser)

    def handle(self, *args, **options):
        asset = asset_get(options["symbol"])
        try:
            desc = f"{asset.symbol} {options['source']} -> {options['target']}"
            with dry_run_rolled_back(options["dry_run"]), progress_bar(desc=desc) as bar:
                result = candles_resample(
                    asset=asset, source_tf=options["source"], target_tf=options["target"], progress=bar
                )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        prefix = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}{asset.symbol} {options['target']}: {result.inserted} inserted, "
            f"{result.updated} updated, {result.unchanged} unchanged"
        )
