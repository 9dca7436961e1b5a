"""download_binance_data against a local data.binance.vision: zips with their CHECKSUM files."""

import hashlib
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.models import PriceData
from assets.tests.factories import AssetFactory
from macro.models import MetricsSnapshot
from macro.tests.factories import MetricsSnapshotFactory
from marketdata.clients.binance_archive import funding_path, kline_path, metrics_path
from marketdata.services.archive import archive_futures_metrics_download, next_month

from .servers import kline

pytestmark = pytest.mark.django_db


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.replace(".zip", ".csv"), text)
    return buffer.getvalue()


def kline_csv(start: datetime, end: datetime, *, micro: bool = False) -> str:
    """Daily klines as the archive's CSV: 12 columns, no header; µs timestamps from 2025 on."""
    lines, moment, price = [], start, Decimal("40000")
    while moment < end:
        cells = kline(moment, "1d", price)
        if micro:
            cells[0], cells[6] = cells[0] * 1000, cells[6] * 1000 + 999
        lines.append(",".join(str(c) for c in cells))
        moment, price = moment + timedelta(days=1), price + 10
    return "\n".join(lines) + "\n"


class Archive:
    """Serve files at their archive paths, with a CHECKSUM beside each ("<sha256>  <name>")."""

    def __init__(self, server):
        self.server = server

    def put(self, path: str, data: bytes, *, checksum_of: bytes | None = None) -> None:
        name = path.rsplit("/", 1)[-1]
        digest = hashlib.sha256(data if checksum_of is None else checksum_of).hexdigest()
        self.server.routes[f"/{path}"] = lambda query: (200, {"Content-Type": "application/zip"}, data)
        checksum = f"{digest}  {name}\n".encode()
        self.server.routes[f"/{path}.CHECKSUM"] = lambda query: (
            200,
            {"Content-Type": "text/plain"},
            checksum,
        )

    def month(self, month: date, **kwargs) -> bytes:
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        end = datetime(next_month(month).year, next_month(month).month, 1, tzinfo=UTC)
        path = kline_path("BTCUSDT", "1d", f"{month:%Y-%m}")
        data = zipped(path.rsplit("/", 1)[-1], kline_csv(start, end, micro=month.year >= 2025))
        self.put(path, data, **kwargs)
        return data


@pytest.fixture
def archive(local_server, settings, tmp_path):
    settings.BINANCE_DATA_URL = local_server.url
    settings.BINANCE_DATA_CACHE_DIR = tmp_path / "cache"
    return Archive(local_server)


@pytest.fixture
def btc():
    return AssetFactory(symbol="BTC", external_ids={"binance": "BTCUSDT"})


def month_count(asset, year, month):
    return PriceData.objects.filter(
        asset=asset, timeframe="1d", candle_time__year=year, candle_time__month=month
    ).count()


def test_a_bad_checksum_or_a_truncated_zip_refuses_that_file_and_keeps_the_others(
    archive, btc, capsys, settings
):
    archive.month(date(2024, 11, 1))
    good = archive.month(date(2024, 12, 1))
    archive.put(kline_path("BTCUSDT", "1d", "2024-12"), good, checksum_of=b"another file")
    archive.month(date(2025, 1, 1))  # microsecond timestamps
    truncated = archive.month(date(2025, 2, 1))[:-200]
    archive.put(kline_path("BTCUSDT", "1d", "2025-02"), truncated)  # its checksum matches: the zip is checked

    with pytest.raises(CommandError, match="2 files refused") as error:
        call_command(
            "download_binance_data",
            "--symbol",
            "btcusdt",
            "--timeframe",
            "1d",
            "--from",
            "2024-11",
            "--to",
            "2025-02",
        )

    assert error.value.returncode == 1
    assert (month_count(btc, 2024, 11), month_count(btc, 2024, 12)) == (30, 0)
    assert (month_count(btc, 2025, 1), month_count(btc, 2025, 2)) == (31, 0)
    january = PriceData.objects.filter(asset=btc, candle_time__year=2025).earliest("candle_time")
    assert january.candle_time == datetime(2025, 1, 1, tzinfo=UTC)
    err = capsys.readouterr().err
    assert (
        "BTCUSDT-1d-2024-12.zip: refused (binance archive: BTCUSDT-1d-2024-12.zip: checksum mismatch" in err
    )
    assert "BTCUSDT-1d-2025-02.zip: refused (binance archive: BTCUSDT-1d-2025-02.zip: damaged zip" in err
    cache = settings.BINANCE_DATA_CACHE_DIR
    assert (cache / kline_path("BTCUSDT", "1d", "2024-11")).is_file()
    assert not (cache / kline_path("BTCUSDT", "1d", "2024-12")).exists()  # refused files are not kept
    assert not (cache / kline_path("BTCUSDT", "1d", "2025-02")).exists()


def test_complete_months_are_skipped_and_downloads_are_cached(archive, btc, settings):
    archive.month(date(2024, 11, 1))
    archive.month(date(2024, 12, 1))
    args = ("download_binance_data", "--symbol", "BTCUSDT", "--timeframe", "1d", "--from", "2024-11")
    call_command(*args, "--to", "2024-12")
    cached = settings.BINANCE_DATA_CACHE_DIR / kline_path("BTCUSDT", "1d", "2024-11")
    assert cached.is_file() and cached.with_name(f"{cached.name}.CHECKSUM").is_file()
    archive.server.requests.clear()

    call_command(*args, "--to", "2024-12")  # both months complete: nothing is asked
    assert archive.server.requests == []

    PriceData.objects.filter(asset=btc, candle_time__month=12).first().delete()
    call_command(*args, "--to", "2024-12")  # an incomplete month is imported again from the cache
    assert archive.server.requests == [] and month_count(btc, 2024, 12) == 31


def test_a_month_not_archived_yet_comes_from_the_daily_files(archive, btc):
    month = date(2024, 2, 1)
    for day in range(1, 30):
        moment = datetime(2024, 2, day, tzinfo=UTC)
        path = kline_path("BTCUSDT", "1d", f"{moment:%Y-%m-%d}")
        archive.put(path, zipped(path.rsplit("/", 1)[-1], kline_csv(moment, moment + timedelta(days=1))))

    label = f"{month:%Y-%m}"
    call_command(
        "download_binance_data", "--symbol", "BTCUSDT", "--timeframe", "1d", "--from", label, "--to", label
    )

    assert month_count(btc, 2024, 2) == 29
    assert archive.server.hits("/data/spot/monthly/klines/BTCUSDT/1d/BTCUSDT-1d-2024-02.zip.CHECKSUM")


def test_an_asset_without_the_market_is_a_one_line_error(archive):
    with pytest.raises(
        CommandError, match=re.escape('no asset has external_ids {"binance": "ETHUSDT"}')
    ) as error:
        call_command("download_binance_data", "--symbol", "ETHUSDT", "--from", "2024-01")
    assert error.value.returncode == 2


def test_futures_funding_rates_and_open_interest_become_daily_snapshot_fields(archive, btc):
    days = [date(2024, 1, 1), date(2024, 1, 2)]
    for day in days:
        MetricsSnapshotFactory(
            snapshot_time=datetime(day.year, day.month, day.day, tzinfo=UTC), timeframe="1d"
        )
    funding = "calc_time,funding_interval_hours,last_funding_rate\n" + "".join(
        f"{int(datetime(2024, 1, d, h, tzinfo=UTC).timestamp() * 1000)},8,{rate}\n"
        for d, rates in ((1, ("0.00030000", "0.00010000", "0.00020000")), (2, ("0.00010000",) * 3))
        for h, rate in zip((0, 8, 16), rates, strict=True)
    )
    path = funding_path("BTCUSDT", "2024-01")
    archive.put(path, zipped(path.rsplit("/", 1)[-1], funding))
    header = (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
        "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio\n"
    )
    for day, values in (
        (days[0], ("3371043013.03426000", "3390000000.50000000")),
        (days[1], ("3400000000.00",)),
    ):
        rows = "".join(
            f"{day} {hour:02d}:05:00,BTCUSDT,79843.661,{value},1.36,1.16,1.42,0.86\n"
            for hour, value in enumerate(values)
        )
        path = metrics_path("BTCUSDT", f"{day}")
        archive.put(path, zipped(path.rsplit("/", 1)[-1], header + rows))

    report = archive_futures_metrics_download(symbol="BTCUSDT", start=days[0], end=days[1])

    first, second = MetricsSnapshot.objects.order_by("snapshot_time")
    assert first.funding_rate_btc == Decimal("0.000200") and second.funding_rate_btc == Decimal("0.000100")
    assert first.open_interest_btc == Decimal("3390000000.50")  # the day's last reading
    assert second.open_interest_btc == Decimal("3400000000.00")
    assert report.metrics.startswith("2 days: 0 snapshots created, 2 updated")
