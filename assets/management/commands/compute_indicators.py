from django.core.management.base import BaseCommand

from assets.indicators import indicators_compute
from cryptopredict.management.common import DRY_RUN_NOTE, dry_run_argument, dry_run_rolled_back
from cryptopredict.progress import progress_bar
from cryptopredict.timeframes import timeframe_argument

from ._shared import asset_get


class Command(BaseCommand):
    help = (
        "Fill the technical indicators of candles (rsi_14, sma_20/50/200, ema_12/26/200, macd, "
        "Bollinger bands, atr_14 on real OHLC only, volatility_30) with TA-Lib. Incremental: each "
        "series' watermark says which candles were written since its last computation; they and "
        "the later candles that depend on them are computed, with enough earlier candles for "
        "warm-up (a series never computed is computed whole); --recompute redoes every selected "
        "series. Exit code: 0 done, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbol", help="only this asset (default: every asset)")
        parser.add_argument(
            "--timeframe", type=timeframe_argument, metavar="TF", help="only this timeframe (default: all)"
        )
        parser.add_argument("--recompute", action="store_true", help="recompute candles that have indicators")
        dry_run_argument(parser)

    def handle(self, *args, **options):
        asset = asset_get(options["symbol"]) if options["symbol"] else None
        with dry_run_rolled_back(options["dry_run"]), progress_bar(desc="indicators", unit="candles") as bar:
            written = indicators_compute(
                asset=asset, timeframe=options["timeframe"], recompute=options["recompute"], progress=bar
            )
        scope = " ".join(filter(None, [asset and asset.symbol, options["timeframe"]])) or "all candles"
        prefix = DRY_RUN_NOTE if options["dry_run"] else ""
        self.stdout.write(f"{prefix}{scope}: indicators written for {written} candles")
