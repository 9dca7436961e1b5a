from datetime import date

from django.core.management.base import BaseCommand, CommandError

from cryptopredict.timeframes import timeframe_argument
from marketdata.clients.http import SourceError
from marketdata.services.archive import archive_candles_download, archive_futures_metrics_download

BAD_ARGUMENTS, REFUSED = 2, 1


def month_arg(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise CommandError(f"not a month: {text!r} (use YYYY-MM)", returncode=BAD_ARGUMENTS) from None


class Command(BaseCommand):
    help = (
        "Download spot klines from Binance's public data archive (data.binance.vision): the monthly "
        "zips, then the daily ones of a month not archived yet; each verified against its CHECKSUM "
        "and imported as import_candles does. Downloads stay in BINANCE_DATA_CACHE_DIR; months "
        "already complete are skipped. --futures-metrics also merges the USD-M funding rates and "
        "open interest into the daily snapshots. Exit code: 0 done, 1 a file refused or a source "
        "failed, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True, help="the Binance market, e.g. BTCUSDT")
        parser.add_argument("--timeframe", default="1m", type=timeframe_argument, metavar="TF")
        parser.add_argument("--from", dest="start", required=True, type=str, help="first month, YYYY-MM")
        parser.add_argument("--to", dest="end", type=str, help="last month, YYYY-MM (default: this month)")
        parser.add_argument(
            "--futures-metrics",
            action="store_true",
            help="also the USD-M funding rates and open interest, into the daily snapshots",
        )

    def handle(self, *args, **options):
        start = month_arg(options["start"])
        end = month_arg(options["end"]) if options["end"] else None
        if end is not None and end < start:
            raise CommandError("--to is before --from", returncode=BAD_ARGUMENTS)
        symbol = options["symbol"].strip().upper()
        try:
            report = archive_candles_download(
                symbol=symbol, timeframe=options["timeframe"], start=start, end=end
            )
            futures = (
                archive_futures_metrics_download(symbol=symbol, start=start, end=end)
                if options["futures_metrics"]
                else None
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        except SourceError as exc:
            raise CommandError(str(exc), returncode=REFUSED) from None
        refused = report.refused
        for outcome in report.files:
            line = f"  {outcome.name}: {outcome.status}"
            if outcome.status == "imported":
                line += f", {outcome.inserted} new, {outcome.updated} updated"
            elif outcome.message:
                line += f" ({outcome.message})"
            (self.stderr if outcome.status == "refused" else self.stdout).write(line)
        self.stdout.write(
            f"{symbol} {options['timeframe']}: {sum(f.status == 'imported' for f in report.files)} files "
            f"imported, {report.inserted} candles new, {len(refused)} files refused"
        )
        if futures is not None:
            refused += futures.refused
            for outcome in futures.refused:
                self.stderr.write(f"  {outcome.name}: refused ({outcome.message})")
            self.stdout.write(f"{symbol} futures metrics: {futures.metrics}")
        if refused:
            raise CommandError(f"{len(refused)} files refused", returncode=REFUSED)
