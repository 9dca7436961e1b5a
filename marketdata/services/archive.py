"""Bulk history from Binance's public data archive (data.binance.vision).

Spot klines: a month's zip, or the daily zips of a month not archived yet, each verified (see
clients.binance_archive) and imported through import_candles' reader and upsert; a month (or day)
whose candles are all stored already is skipped without a download. USD-M futures: the monthly
funding rate files and the daily metrics files become the daily MetricsSnapshot fields
funding_rate_btc (the mean of the day's funding rates) and open_interest_btc (the day's last
open interest, in USD).
"""

import csv
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from assets.importers import ImportFormatError
from assets.models import Asset, PriceData
from assets.services.importing import candles_import
from cryptopredict.timeframes import floor_time, next_time, parse_timestamp
from macro.services.metrics_import import metrics_merge

from ..clients.binance_archive import (
    ArchiveFileRefused,
    BinanceArchive,
    funding_path,
    kline_path,
    metrics_path,
)
from ..clients.http import SourceError, SourceNotFound
from ..locks import series_lock
from .states import state_failed, state_started, state_succeeded

SOURCE = "binance_archive"


@dataclass
class FileOutcome:
    name: str
    status: str  # imported, complete (skipped), missing (not in the archive), refused
    inserted: int = 0
    updated: int = 0
    message: str = ""


@dataclass
class ArchiveReport:
    files: list[FileOutcome] = field(default_factory=list)
    metrics: str = ""

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)


def next_month(day: date) -> date:
    """Return the first day of the month after `day`'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months(start: date, end: date) -> list[date]:
    """Return the first days of the months from `start` to `end`, both included."""
    result, month = [], start.replace(day=1)
    while month <= end:
        result.append(month)
        month = next_month(month)
    return result


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _expected_count(start: datetime, end: datetime, timeframe: str) -> int:
    count, moment = 0, floor_time(start, timeframe)
    if moment < start:
        moment = next_time(moment, timeframe)
    while moment < end:
        count, moment = count + 1, next_time(moment, timeframe)
    return count


def _complete(asset: Asset, timeframe: str, start: datetime, end: datetime) -> bool:
    """Return whether every candle from `start` to `end` is stored (a count over that range only)."""
    stored = PriceData.objects.series(asset, timeframe).filter(candle_time__gte=start, candle_time__lt=end)
    return stored.count() >= _expected_count(start, end, timeframe)


def asset_for_market(symbol: str) -> Asset:
    """Return the asset whose external_ids name `symbol` (e.g. "BTCUSDT") on Binance."""
    asset = Asset.objects.filter(external_ids__binance=symbol).first()
    if asset is None:
        raise ValueError(f'no asset has external_ids {{"binance": "{symbol}"}}: set it on the asset first')
    return asset


class _KlineDownload:
    def __init__(self, *, client, asset, symbol, timeframe, report):
        self.client, self.asset, self.symbol, self.timeframe = client, asset, symbol, timeframe
        self.report = report

    def period(self, period: str, start: datetime, end: datetime) -> bool:
        """Download and import one file; return False when the archive does not have it."""
        name = kline_path(self.symbol, self.timeframe, period).rsplit("/", 1)[-1]
        if _complete(self.asset, self.timeframe, start, end):
            self.report.files.append(FileOutcome(name, "complete"))
            return True
        try:
            path = self.client.fetch(kline_path(self.symbol, self.timeframe, period))
        except SourceNotFound:
            return False
        except ArchiveFileRefused as exc:
            self.report.files.append(FileOutcome(name, "refused", message=str(exc)))
            return True
        try:
            imported = candles_import(path=path, asset=self.asset, timeframe=self.timeframe)
        except ImportFormatError as exc:
            message = f"{self.client.source}: {name}: {exc}; file refused"
            self.report.files.append(FileOutcome(name, "refused", message=message))
            return True
        self.report.files.append(FileOutcome(name, "imported", imported.inserted, imported.updated))
        return True

    def month(self, month: date, today: date) -> None:
        start, end = _moment(month), _moment(next_month(month))
        label = f"{month:%Y-%m}"
        if self.period(label, start, end):
            return
        # Not archived as a month yet (the current one): the daily files up to yesterday.
        day = month
        while day < min(end.date(), today):
            if not self.period(f"{day:%Y-%m-%d}", _moment(day), _moment(day + timedelta(days=1))):
                name = kline_path(self.symbol, self.timeframe, f"{day:%Y-%m-%d}").rsplit("/", 1)[-1]
                self.report.files.append(FileOutcome(name, "missing", message="not in the archive"))
            day += timedelta(days=1)


def archive_candles_download(
    *,
    symbol: str,
    timeframe: str,
    start: date,
    end: date | None = None,
    client: BinanceArchive | None = None,
) -> ArchiveReport:
    """Download and import the spot klines of `symbol` from the month of `start` to that of `end`
    (default: this month); return what happened to each file.

    A refused file (checksum mismatch, damaged zip) is reported and nothing of it is imported;
    the other files are. A source failure (network, 5xx after retries) raises SourceError,
    keeping the files imported before it.
    """
    asset = asset_for_market(symbol)
    client = client or BinanceArchive()
    report = ArchiveReport()
    today = timezone.now().date()
    with series_lock(f"candles:{SOURCE}:{asset.pk}:{timeframe}") as held:
        if not held:
            raise SourceError(client.source, f"another download of {symbol} {timeframe} is running")
        state = state_started(source=SOURCE, asset=asset, timeframe=timeframe)
        download = _KlineDownload(
            client=client, asset=asset, symbol=symbol, timeframe=timeframe, report=report
        )
        try:
            for month in months(start, end or today):
                download.month(month, today)
        except SourceError as exc:
            state_failed(state=state, error=str(exc))
            raise
    _state_refresh(state, report)
    if report.refused:
        state_failed(state=state, error=report.refused[0].message)
    else:
        state_succeeded(state=state)
    return report


def _state_refresh(state, report: ArchiveReport) -> None:
    """Move the archive's SyncState on: first and last candle by index lookups, count by inserts."""
    candles = PriceData.objects.series(state.asset_id, state.timeframe)
    state.first_candle_time = candles.order_by("candle_time").values_list("candle_time", flat=True).first()
    state.last_candle_time = candles.order_by("-candle_time").values_list("candle_time", flat=True).first()
    state.candle_count += report.inserted
    state.save(update_fields=["first_candle_time", "last_candle_time", "candle_count", "updated_at"])


# --- USD-M futures: funding rates and open interest -------------------------------------------


def _csv_rows(path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        member = next(m for m in archive.infolist() if not m.is_dir())
        text = archive.read(member).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _day(value) -> date:
    return parse_timestamp(value)[0].date()


def archive_futures_metrics_download(
    *, symbol: str, start: date, end: date | None = None, client: BinanceArchive | None = None
) -> ArchiveReport:
    """Download the funding rates (monthly files) and open interest (daily files) of a USD-M
    futures `symbol` and merge their daily aggregates into the daily snapshots."""
    client = client or BinanceArchive()
    report = ArchiveReport()
    today = timezone.now().date()
    end = min(end or today, today - timedelta(days=1))
    funding: dict[date, list[Decimal]] = defaultdict(list)
    interest: dict[date, tuple[datetime, Decimal]] = {}

    def fetch(path: str):
        name = path.rsplit("/", 1)[-1]
        try:
            return client.fetch(path)
        except SourceNotFound:
            report.files.append(FileOutcome(name, "missing", message="not in the archive"))
        except ArchiveFileRefused as exc:
            report.files.append(FileOutcome(name, "refused", message=str(exc)))
        return None

    for month in months(start, end):
        path = fetch(funding_path(symbol, f"{month:%Y-%m}"))
        if path is None:
            continue
        for row in _csv_rows(path):
            try:
                funding[_day(row["calc_time"])].append(Decimal(row["last_funding_rate"]))
            except (KeyError, ValueError, InvalidOperation):
                continue
        report.files.append(FileOutcome(path.name, "imported"))
    day = start
    while day <= end:
        path = fetch(metrics_path(symbol, f"{day:%Y-%m-%d}"))
        day += timedelta(days=1)
        if path is None:
            continue
        for row in _csv_rows(path):
            try:
                moment = parse_timestamp(row["create_time"])[0]
                value = Decimal(row["sum_open_interest_value"])
            except (KeyError, ValueError, InvalidOperation):
                continue
            if moment.date() not in interest or moment >= interest[moment.date()][0]:
                interest[moment.date()] = (moment, value)
        report.files.append(FileOutcome(path.name, "imported"))
    records = []
    for n, day in enumerate(sorted(set(funding) | set(interest)), start=1):
        if not start <= day <= end:
            continue
        record = {"snapshot_time": day.isoformat(), "timeframe": "1d"}
        if funding.get(day):
            record["funding_rate_btc"] = sum(funding[day]) / len(funding[day])
        if day in interest:
            record["open_interest_btc"] = interest[day][1].quantize(Decimal("0.01"))
        records.append((n, record))
    counts = metrics_merge(
        keys=["snapshot_time", "timeframe", "funding_rate_btc", "open_interest_btc"], records=records
    )
    report.metrics = (
        f"{len(records)} days: {counts.inserted} snapshots created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {len(counts.rejected)} days without a BTC snapshot or candle"
    )
    return report
