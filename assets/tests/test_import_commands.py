"""The market data commands: summaries, reject reports, exit codes and one-line errors."""

import csv
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from assets.models import Asset, PriceData, PriceDataArchive
from assets.tests.factories import AssetFactory, PriceDataFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
ROOT = Path(__file__).resolve().parents[2]
KLINES = str(FIXTURES / "nautilus_http_spot_market_klines.json")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure(*args) -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert "\n" not in str(caught.value)  # one line, no traceback
    return caught.value


def test_import_candles_prints_a_summary_and_is_idempotent():
    AssetFactory(symbol="ADABTC")
    path = str(FIXTURES / "nautilus_ADABTC-1m-2021-11-27.csv")
    first = run("import_candles", path, "--symbol", "adabtc")
    assert (
        "binance_csv, 1m, times in ms: 10 rows read, 10 inserted, 0 updated, 0 unchanged, 0 rejected" in first
    )
    assert "candles from 2021-11-27 00:00 to 2021-11-27 00:09 UTC" in first
    second = run("import_candles", path, "--symbol", "ADABTC")
    assert "0 inserted, 0 updated, 10 unchanged" in second
    assert PriceData.objects.count() == 10


def test_import_candles_reports_gaps():
    AssetFactory(symbol="ADABTC")
    output = run("import_candles", str(DEMO / "ADA_BTC-5m.feather"), "--symbol", "ADABTC", "--no-indicators")
    assert "5 gaps, 40 candles missing:" in output


def test_rejected_rows_give_exit_code_1_and_a_rejects_report(tmp_path):
    AssetFactory(symbol="BTC")
    source = tmp_path / "bad.csv"
    source.write_text("timestamp,open,high,low,close,volume\n1704067200,1,2,0.5,1,1\n1704067260,1,2,3,1,1\n")
    rejects = tmp_path / "rejects.csv"
    error = failure(
        "import_candles", str(source), "--symbol", "BTC", "--timeframe", "1m", "--rejects", str(rejects)
    )
    assert error.returncode == 1
    assert str(error) == "1 rows rejected"
    with rejects.open() as handle:
        assert list(csv.reader(handle)) == [["line", "reason"], ["3", "high: 2 is below low 3"]]
    assert PriceData.objects.count() == 1  # the good row is kept


def test_unwritable_rejects_report_stops_before_importing(tmp_path):
    AssetFactory(symbol="BTC")
    rejects = tmp_path / "no" / "such" / "dir.csv"
    error = failure("import_candles", KLINES, "--symbol", "BTC", "--rejects", str(rejects))
    assert error.returncode == 2 and f"cannot write {rejects}" in str(error)
    assert not PriceData.objects.exists()


def test_create_asset_and_dry_run():
    path = str(FIXTURES / "nautilus_http_spot_market_klines.json")
    output = run("import_candles", path, "--symbol", "BTCUSDT", "--create-asset", "--dry-run")
    assert "dry run, nothing written" in output and "10 inserted" in output
    assert not Asset.objects.exists() and not PriceData.objects.exists()
    run("import_candles", path, "--symbol", "BTCUSDT", "--create-asset")
    assert PriceData.objects.filter(asset__symbol="BTCUSDT").count() == 10


@pytest.mark.parametrize(
    ("symbol", "message"), [("", "This field cannot be blank"), ("X" * 21, "at most 20 characters")]
)
def test_create_asset_refuses_a_symbol_the_model_refuses(symbol, message):
    error = failure("import_candles", KLINES, "--symbol", symbol, "--create-asset")
    assert error.returncode == 2 and message in str(error)
    assert not Asset.objects.exists() and not PriceData.objects.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.csv", "--symbol", "BTC"], 2, "no such file: missing.csv"),
        ([KLINES, "--symbol", "NOPE"], 2, "unknown asset 'NOPE'"),
        ([str(DEMO / "ETH_BTC-5m.feather"), "--symbol", "BTC", "--timeframe", "1h"], 1, "spacing is 5m but"),
        ([KLINES, "--symbol", "BTC", "--format", "feather"], 1, "holds binance_json data, not feather"),
    ],
)  # fmt: skip
def test_import_candles_errors(args, code, message):
    AssetFactory(symbol="BTC")
    error = failure("import_candles", *args)
    assert error.returncode == code
    assert message in str(error)


def test_unreadable_file_is_one_line_error(tmp_path):
    AssetFactory(symbol="BTC")
    path = tmp_path / "notes.txt"
    path.write_text("hello, world\nthis is not market data\n")
    error = failure("import_candles", str(path), "--symbol", "BTC")
    assert error.returncode == 1 and "header lacks candle_time" in str(error)


def test_the_real_process_exits_2_with_one_line_and_no_traceback():
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_candles", "/no/such.csv", "--symbol", "BTC"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "CommandError: no such file: /no/such.csv"


def test_import_assets_command():
    path = str(FIXTURES / "coingecko_markets_btc_2024-12-10.json")
    assert "dry run, nothing written: assets: 1 inserted" in run("import_assets", path, "--dry-run")
    assert not Asset.objects.exists()
    assert "1 inserted, 0 updated, 0 unchanged, 0 rejected" in run("import_assets", path)
    assert "0 inserted, 0 updated, 1 unchanged, 0 rejected" in run("import_assets", path)
    assert failure("import_assets", "nothing.json").returncode == 2


def test_resample_candles_command():
    asset = AssetFactory(symbol="ETHBTC")
    run("import_candles", str(DEMO / "ETH_BTC-5m.feather"), "--symbol", "ETHBTC", "--no-indicators")
    assert "dry run, nothing written: ETHBTC 1h: 479 inserted" in run(
        "resample_candles", "--symbol", "ETHBTC", "--from", "5m", "--to", "1h", "--dry-run"
    )
    assert not PriceData.objects.filter(asset=asset, timeframe="1h").exists()
    assert "ETHBTC 1h: 479 inserted" in run(
        "resample_candles", "--symbol", "ETHBTC", "--from", "5m", "--to", "1h"
    )
    assert PriceData.objects.filter(asset=asset, timeframe="1h").count() == 479
    error = failure("resample_candles", "--symbol", "ETHBTC", "--from", "1h", "--to", "5m")
    assert error.returncode == 2 and "cannot be built" in str(error)


def test_archive_price_data_command():
    asset = AssetFactory()
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for days in (400, 401, 10):
        PriceDataFactory(asset=asset, candle_time=today - timedelta(days=days))
    dry = run("archive_price_data", "--older-than", "365d", "--dry-run")
    assert "dry run, nothing written: moved 2 candles" in dry and PriceData.objects.count() == 3
    assert "moved 2 candles older than 365d" in run(
        "archive_price_data", "--older-than", "365d", "--batch-size", "1"
    )
    assert (PriceData.objects.count(), PriceDataArchive.objects.count()) == (1, 2)
    for bad in (
        ["--older-than", "a year"],
        ["--older-than", "1d", "--batch-size", "0"],
        ["--older-than", "99999999d", "--dry-run"],  # before the year 1: no date to compare with
        ["--older-than", "9999999999999w"],  # more than a timedelta holds
    ):
        assert failure("archive_price_data", *bad).returncode == 2


def test_undecodable_bytes_reject_their_row_only(tmp_path):
    asset = AssetFactory(symbol="BTC")
    path = tmp_path / "broken.csv"
    good = "".join(f"{1704067200000 + i * 60_000},1,2,0.5,1.5,10,0,0,1,0,0,0\n" for i in range(3000))
    path.write_bytes(good.encode() + b"1704247200000,\xff\xfe,2,0.5,1.5,10,0,0,1,0,0,0\n")
    rejects = tmp_path / "rejects.csv"
    error = failure("import_candles", str(path), "--symbol", "BTC", "--rejects", str(rejects))
    assert error.returncode == 1
    assert PriceData.objects.filter(asset=asset).count() == 3000
    assert rejects.read_text().splitlines()[1].startswith("3001,open: not a number")


def test_a_file_with_a_header_and_no_rows_is_refused(tmp_path):
    AssetFactory(symbol="BTC")
    path = tmp_path / "empty.csv"
    path.write_text("timestamp,open,high,low,close,volume\n")
    error = failure("import_candles", str(path), "--symbol", "BTC")
    assert error.returncode == 1 and "no candles in the file" in str(error)
