import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.tests.factories import AssetFactory
from assets.tests.test_indicators import candles_create
from cryptopredict.timeframes import UNKNOWN_TIMEFRAME
from macro.models import MetricsSnapshot
from macro.services.fields import MetricsError
from macro.services.metrics_import import metrics_import

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
JAN = {day: datetime(2024, 1, day, tzinfo=UTC) for day in range(1, 11)}


def btc_candle(close: str = "42000", moment: datetime = JAN[1]):
    candles_create(AssetFactory(symbol="BTC"), [Decimal(close)], start=moment)


def get(day: int, timeframe: str = "1d") -> MetricsSnapshot:
    return MetricsSnapshot.objects.get(snapshot_time=JAN[day], timeframe=timeframe)


def test_csv_upserts_good_rows_and_rejects_bad_ones_with_their_line():
    btc_candle()
    MetricsSnapshot.objects.create(
        snapshot_time=JAN[2], timeframe="1d", btc_price_usd=44000, fear_greed_index=10, gold=2000
    )
    counts = metrics_import(path=FIXTURES / "metrics.csv")

    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 0)
    assert [(r.line, r.reason()) for r in counts.rejected] == [
        (4, "fear_greed_index: must be between 0 and 100, not 150"),
        (
            5,
            "no snapshot for 2024-01-04T00:00:00+00:00 1d yet, and no btc_price_usd to create it: "
            "add btc_price_usd or import the BTC 1d candle first",
        ),
        (
            6,
            "snapshot_time: 2024-01-05T12:00:00+00:00 is not the open of a 1d period "
            "(2024-01-05T00:00:00+00:00 is)",
        ),
        (7, "funding_rate_btc: not a number: 'abc'"),
    ]
    first = get(1)
    assert first.btc_price_usd == 42000  # no price in the file: the BTC candle's close
    assert (first.fear_greed_index, first.funding_rate_btc) == (65, Decimal("0.000125"))
    assert (first.sp500, first.vix_index) == (Decimal("4742.83"), Decimal("13.2"))
    assert first.extended_metrics == {"etf_net_flow_usd": 1200000}
    assert first.data_source == "imported"
    assert first.data_quality_flags == {
        "imported_fields": ["extended_metrics", "fear_greed_index", "funding_rate_btc", "sp500", "vix_index"]
    }
    second = get(2)
    assert (second.btc_price_usd, second.fear_greed_index) == (Decimal("45000.5"), 70)
    assert second.gold == 2000  # not in the file: kept
    assert second.data_source == "merged"
    assert MetricsSnapshot.objects.count() == 2


def test_json_merges_repeated_periods_and_rounds_to_the_column():
    btc_candle()
    counts = metrics_import(path=FIXTURES / "metrics.json")

    assert (counts.inserted, counts.updated) == (2, 0)
    assert [(r.line, r.reason()) for r in counts.rejected] == [
        (4, f"timeframe: {UNKNOWN_TIMEFRAME.format(input='2d')}"),
        (5, "not an object"),
    ]
    first = get(1)
    assert (first.fear_greed_index, first.gold, first.dxy) == (65, Decimal("2063.73"), Decimal("101.33"))
    assert first.funding_rate_btc == Decimal("0.000123")  # decimal(10,6)
    assert first.us_10y_yield == Decimal("3.9450")
    assert first.liquidation_zones == [{"price": 41000, "size_usd": 250000000}]
    assert first.open_interest_btc is None
    second = get(2)
    assert (second.btc_price_usd, second.usdt_dominance) == (45000, Decimal("3.71"))


def test_reimport_changes_nothing_and_empty_values_keep_stored_ones(tmp_path):
    btc_candle()
    path = tmp_path / "metrics.csv"
    path.write_text("snapshot_time,fear_greed_index,sp500\n2024-01-01,40,4700\n")
    assert metrics_import(path=path).inserted == 1
    again = metrics_import(path=path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)

    path.write_text("snapshot_time,fear_greed_index,sp500\n2024-01-01,,4800\n")
    assert metrics_import(path=path).updated == 1
    assert (get(1).fear_greed_index, get(1).sp500) == (40, 4800)


def test_extended_metrics_merge_by_key(tmp_path):
    btc_candle()
    path = tmp_path / "metrics.json"
    path.write_text('[{"snapshot_time": "2024-01-01", "extended_metrics": {"a": 1, "b": 2}}]')
    metrics_import(path=path)
    path.write_text('[{"snapshot_time": "2024-01-01", "extended_metrics": {"b": 3, "c": 4.5}}]')
    metrics_import(path=path)
    assert get(1).extended_metrics == {"a": 1, "b": 3, "c": 4.5}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "snapshot_time,fear_greed,sp500,colour\n",
            "unknown fields: fear_greed (did you mean fear_greed_index?), colour; importable: snapshot_time",
        ),
        ("snapshot_time,data_source\n", "data_source (set by the system, not importable)"),
        ("fear_greed_index\n1\n", "no snapshot_time field"),
        ("", "empty file"),
        ('{"snapshot_time": "2024-01-01"}', "JSON must be an array of objects"),
        ("[{]", "not valid JSON"),
    ],
)
def test_whole_file_errors_write_nothing(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(MetricsError, match=re.escape(message)):
        metrics_import(path=path)
    assert not MetricsSnapshot.objects.exists()


def test_binary_file_is_refused_with_one_line(tmp_path):
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(MetricsError, match="not a UTF-8 text file"):
        metrics_import(path=path)
    assert not MetricsSnapshot.objects.exists()


def test_value_checks(tmp_path):
    btc_candle()
    path = tmp_path / "metrics.csv"
    path.write_text(
        "snapshot_time,btc_dominance,btc_price_usd,active_addresses_btc,sp500,liquidation_zones\n"
        "2024-01-01,101,-5,1.5,123456789,{}\n"
        "2024-01-01,99.999,1,12,-1,[]\n"
    )
    counts = metrics_import(path=path)
    assert [(r.line, r.reason()) for r in counts.rejected] == [
        (
            2,
            "btc_dominance: must be between 0 and 100, not 101; "
            "btc_price_usd: must be greater than 0, not -5; "
            "active_addresses_btc: not a whole number that fits: '1.5'; "
            "sp500: 123456789 does not fit decimal(10,2); liquidation_zones: must be a JSON array",
        ),
        (3, "sp500: must not be negative, not -1"),
    ]
    assert not MetricsSnapshot.objects.exists()


def test_command(capsys, tmp_path):
    btc_candle()
    with pytest.raises(CommandError, match="4 rows rejected") as error:
        call_command("import_metrics", str(FIXTURES / "metrics.csv"))
    assert error.value.returncode == 1
    captured = capsys.readouterr()
    assert "metrics.csv: 2 inserted, 0 updated, 0 unchanged, 4 rejected" in captured.out
    assert "line 4: fear_greed_index: must be between 0 and 100, not 150" in captured.err

    good = tmp_path / "good.csv"
    good.write_text("snapshot_time,vix_index\n2024-01-01,12.5\n")
    call_command("import_metrics", str(good))
    assert "good.csv: 0 inserted, 1 updated, 0 unchanged, 0 rejected" in capsys.readouterr().out

    with pytest.raises(CommandError, match="no such file") as error:
        call_command("import_metrics", str(tmp_path / "missing.csv"))
    assert error.value.returncode == 2
    good.write_text("snapshot_time,vixx\n")
    with pytest.raises(CommandError, match="unknown fields: vixx") as error:
        call_command("import_metrics", str(good))
    assert error.value.returncode == 1
