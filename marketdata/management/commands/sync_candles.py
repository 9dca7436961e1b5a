from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from cryptopredict.timeframes import parse_timestamp, timeframe_argument
from marketdata.clients.exchange import ExchangeClient
from marketdata.clients.http import SourceError
from marketdata.services.candles import SyncError, candles_sync, synced_assets

BAD_ARGUMENTS, FAILED = 2, 1


def moment_arg(text: str):
    """Return a --since DATE (YYYY-MM-DD or ISO time, UTC) as an aware datetime, or stop."""
    if parse_date(text) is None and parse_datetime(text) is None:
        raise CommandError(f"--since: not a date: {text!r} (use YYYY-MM-DD)", returncode=BAD_ARGUMENTS)
    return parse_timestamp(text)[0]


class Command(BaseCommand):
    help = (
        "Sync closed candles from an exchange (ccxt) for every active asset with a market id for it "
        'in external_ids (e.g. {"binance": "BTCUSDT"}): from the last stored candle (or --since) up to '
        "now, page by page; gaps are requested again once, then recorded as known gaps. A rerun "
        "resumes. Exit code: 0 done, 1 a source failed, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--exchange", default=settings.SYNC_EXCHANGE, help="a ccxt exchange id")
        parser.add_argument("--symbol", help="only this asset (its symbol, e.g. BTC)")
        parser.add_argument(
            "--timeframe",
            action="append",
            type=timeframe_argument,
            metavar="TF",
            help=f"repeatable; default: SYNC_TIMEFRAMES ({', '.join(settings.SYNC_TIMEFRAMES)})",
        )
        parser.add_argument("--since", type=moment_arg, help="fetch from this date (UTC) instead")

    def handle(self, *args, **options):
        exchange = options["exchange"]
        assets = list(synced_assets(exchange=exchange, symbol=options["symbol"]))
        if not assets:
            which = f"asset {options['symbol'].upper()}" if options["symbol"] else "active asset"
            raise CommandError(
                f'no {which} has a {exchange!r} market in external_ids (e.g. {{"{exchange}": "BTCUSDT"}})',
                returncode=BAD_ARGUMENTS,
            )
        try:
            client = ExchangeClient(exchange)  # one client: markets are loaded once for every series
        except SourceError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        failed = 0
        for timeframe in options["timeframe"] or settings.SYNC_TIMEFRAMES:
            for asset in assets:
                try:
                    result = candles_sync(
                        asset=asset,
                        timeframe=timeframe,
                        exchange=exchange,
                        since=options["since"],
                        client=client,
                    )
                except SyncError as exc:
                    raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
                (self.stderr if result.error else self.stdout).write(result.summary())
                failed += bool(result.error)
        if failed:
            raise CommandError(f"{failed} series stopped on a source error", returncode=FAILED)
