from django.core.management.base import BaseCommand, CommandError

from assets.services import candles_resample
from cryptopredict.choices import Timeframe
from cryptopredict.progress import progress_bar

from ._shared import BAD_ARGUMENTS, asset_get


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

    def handle(self, *args, **options):
        asset = asset_get(options["symbol"])
        try:
            with progress_bar(desc=f"{asset.symbol} {options['source']} -> {options['target']}") as bar:
                result = candles_resample(
                    asset=asset, source_tf=options["source"], target_tf=options["target"], progress=bar
                )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        self.stdout.write(
            f"{asset.symbol} {options['target']}: {result.inserted} inserted, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
