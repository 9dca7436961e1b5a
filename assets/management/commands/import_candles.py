from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assets.importers import FORMATS, ImportFormatError
from assets.models import Asset
from assets.services.assets import asset_create
from assets.services.importing import candles_import
from cryptopredict.management.common import (
    BAD_ARGUMENTS,
    DRY_RUN_NOTE,
    REJECTED,
    dry_run_argument,
    dry_run_rolled_back,
    existing_file,
    rejections_show,
    writable_file,
)
from cryptopredict.progress import progress_bar
from cryptopredict.timeframes import timeframe_argument

from ._shared import asset_get

SHOWN_GAPS = 5


class Command(BaseCommand):
    help = (
        "Upsert candles of one asset from a file: Binance kline CSV or zip (header or not, s/ms/us/ns "
        "times), Binance REST JSON, CoinGecko market_chart / OHLC JSON or CSV export, freqtrade "
        "json / jsongz / feather, or a CSV with a header (timestamp, open, high, low, close, volume). "
        "The format, time unit and timeframe are detected; a stated --timeframe the data's spacing "
        "contradicts is refused. Bad rows are rejected with their line, good rows are kept; running "
        "it twice changes nothing. Exit code: 0 done, 1 rows or the file rejected, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to import")
        parser.add_argument("--symbol", required=True, help="the asset's symbol, e.g. BTC")
        parser.add_argument("--timeframe", type=timeframe_argument, metavar="TF", help="default: detected")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS], help="default: detect")
        parser.add_argument("--rejects", metavar="FILE", help="write the rejected rows (line, reason) as CSV")
        dry_run_argument(parser)
        parser.add_argument("--create-asset", action="store_true", help="create the asset when it is unknown")
        parser.add_argument(
            "--no-indicators",
            action="store_true",
            help="leave the indicators to compute_indicators (bulk loads); by default the written "
            "candles' indicators and those of the later candles that depend on them are computed",
        )

    def handle(self, *args, **options):
        path = existing_file(options["file"])
        rejects = writable_file(options["rejects"]) if options["rejects"] else None
        symbol = options["symbol"].strip().upper()
        # A dry run rolls back everything, the asset it may create included; a real run commits
        # batch by batch (so no enclosing transaction).
        with dry_run_rolled_back(options["dry_run"]):
            if options["create_asset"] and not Asset.objects.filter(symbol=symbol).exists():
                try:
                    asset_create(symbol=symbol)
                except ValidationError as exc:
                    problems = "; ".join(
                        f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items()
                    )
                    raise CommandError(
                        f"cannot create asset {symbol!r}: {problems}", returncode=BAD_ARGUMENTS
                    ) from None
                self.stdout.write(f"created asset {symbol}")
            report = self._import(path, asset_get(symbol), options, rejects)
        if report.rows_read == 0:
            raise CommandError(f"{path.name}: no candles in the file", returncode=REJECTED)
        self._summary(report, dry_run=options["dry_run"])
        if report.rejected:
            rejections_show(self, report.rejected)
            raise CommandError(f"{len(report.rejected)} rows rejected", returncode=REJECTED)

    def _import(self, path, asset, options, rejects):
        try:
            with progress_bar(desc=f"{asset.symbol} {path.name}") as bar:
                report = candles_import(
                    path=path,
                    asset=asset,
                    timeframe=options["timeframe"],
                    fmt=options["format"],
                    progress=None if bar.disable else bar,
                    indicators=not options["no_indicators"],
                    rejects=rejects,  # written as the rows come, not held in memory
                )
        except ImportFormatError as exc:
            raise CommandError(f"{path.name}: {exc}", returncode=REJECTED) from None
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        return report

    def _summary(self, report, *, dry_run: bool) -> None:
        prefix = DRY_RUN_NOTE if dry_run else ""
        self.stdout.write(
            f"{prefix}{report.fmt}, {report.timeframe}, times in {report.unit}: "
            f"{report.rows_read} rows read, {report.summary()}"
        )
        if report.first_time:
            first, last = report.first_time, report.last_time
            self.stdout.write(f"candles from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC")
        if report.price_points:
            self.stdout.write("price points (one price a period, no traded range): stored without ATR")
        if report.indicators is not None:
            self.stdout.write(f"indicators changed on {report.indicators} candles")
        if report.gaps:
            self.stdout.write(f"{report.gap_count} gaps, {report.missing} candles missing:")
            for gap in report.gaps[:SHOWN_GAPS]:
                self.stdout.write(f"  {gap.start:%Y-%m-%d %H:%M} .. {gap.end:%Y-%m-%d %H:%M} ({gap.missing})")
            if report.gap_count > SHOWN_GAPS:
                self.stdout.write(f"  ... and {report.gap_count - SHOWN_GAPS} more")
