from math import isfinite

from django.core.management.base import BaseCommand, CommandError

from assets.indicators import INDICATOR_KEYS, WARMUP_CANDLES, indicators_recursive_check
from assets.models import Asset, PriceData
from cryptopredict.choices import Timeframe
from cryptopredict.management.common import BAD_ARGUMENTS, REJECTED
from cryptopredict.timeframes import timeframe_argument

from ._shared import asset_get


class Command(BaseCommand):
    help = (
        "Recursive analysis (as freqtrade's recursive-analysis): compute each indicator's latest value "
        "from the last N candles for several warm-up lengths N and from the whole stored series, and "
        "list the indicators whose value changes with the warm-up length. Exit code: 0 every "
        "indicator is stable at the warm-up the indicator service uses and stored as computed, "
        "1 one is not, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbol", help="only this asset (default: every asset with candles)")
        parser.add_argument(
            "--timeframe", type=timeframe_argument, metavar="TF", help="only this timeframe (default: all)"
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=WARMUP_CANDLES,
            help=f"the warm-up judged, in candles (default {WARMUP_CANDLES}, what the service uses)",
        )
        parser.add_argument(
            "--lengths",
            default="100,500",
            help="other warm-up lengths shown beside it, comma-separated (default 100,500)",
        )
        parser.add_argument(
            "--tolerance", type=float, default=1e-9, help="largest relative change allowed (default 1e-9)"
        )

    def handle(self, *args, **options):
        try:
            lengths = tuple(int(n) for n in options["lengths"].split(",") if n.strip())
        except ValueError:
            raise CommandError(
                "--lengths must be whole numbers, e.g. 100,500", returncode=BAD_ARGUMENTS
            ) from None
        if options["warmup"] < 1 or any(n < 1 for n in lengths):
            raise CommandError("warm-up lengths must be at least 1 candle", returncode=BAD_ARGUMENTS)
        series = self._series(options)
        if not series:
            raise CommandError("no candles to check", returncode=BAD_ARGUMENTS)
        failing = 0
        for asset, timeframe in series:
            check = indicators_recursive_check(
                asset_id=asset.pk,
                timeframe=timeframe,
                lengths=lengths,
                warmup=options["warmup"],
                tolerance=options["tolerance"],
            )
            self._report(asset, check)
            failing += bool(check.unstable or check.stale)
        if failing:
            raise CommandError(
                f"{failing} of {len(series)} series have unstable or stale indicators",
                returncode=REJECTED,
            )
        self.stdout.write(f"{len(series)} series: every indicator stable and stored as computed")

    def _series(self, options) -> list[tuple[Asset, str]]:
        assets = (
            [asset_get(options["symbol"])] if options["symbol"] else list(Asset.objects.order_by("symbol"))
        )
        timeframes = [options["timeframe"]] if options["timeframe"] else Timeframe.values
        return [
            (asset, timeframe)
            for asset in assets
            for timeframe in timeframes
            if PriceData.objects.series(asset, timeframe).exists()
        ]

    def _report(self, asset: Asset, check) -> None:
        def shown(change) -> str:
            return "missing" if change is None else f"{change:.1e}" if change else "0"

        lengths = sorted(next(iter(check.changes.values()), {}))
        self.stdout.write(
            f"{asset.symbol} {check.timeframe}: {check.candles} candles, latest "
            f"{check.latest:%Y-%m-%d %H:%M}{' (a price point: no ATR)' if check.price_point else ''}; "
            "relative change of the latest value against the whole series"
        )
        header = ["indicator", *(f"{n} candles" for n in lengths), "stored"]
        widths = [max(len(header[0]), *map(len, INDICATOR_KEYS)), *(max(11, len(h)) for h in header[1:])]
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for key, by_length in check.changes.items():
            if not isfinite(check.values[key]):  # no value at all, e.g. ATR on a price point
                cells = [key, *("absent" for _ in lengths), "absent"]
            else:
                cells = [key, *(shown(by_length[n]) for n in lengths), shown(check.stored[key])]
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
        unstable = ", ".join(check.unstable) or "none"
        stale = ", ".join(check.stale) or "none"
        self.stdout.write(
            f"  unstable at {check.warmup} candles (tolerance {check.tolerance:g}): {unstable}; "
            f"stored values differing: {stale}"
        )
