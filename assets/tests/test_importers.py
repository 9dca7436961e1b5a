"""The file readers: formats, time units, timeframe inference, price points made into candles."""

import gzip
import json
import tracemalloc
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.importers import ImportFormatError, TimeframeMismatch, read_candles
from cryptopredict.timeframes import parse_timestamp

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
BINANCE_CSV = FIXTURES / "nautilus_ADABTC-1m-2021-11-27.csv"


def rows_of(path, **options) -> tuple:
    candles = read_candles(path, **options)
    try:
        return candles, list(candles.rows)
    finally:
        candles.close()


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_binance_kline_csv_without_header():
    candles, rows = rows_of(BINANCE_CSV)
    assert (candles.fmt, candles.timeframe, candles.unit) == ("binance_csv", "1m", "ms")
    assert len(rows) == 10
    assert rows[0]["candle_time"] == at(2021, 11, 27, 0, 0)
    assert rows[-1]["candle_time"] == at(2021, 11, 27, 0, 9)
    assert [rows[0][k] for k in ("line", "open", "high", "low", "close", "volume", "trade_count")] == [
        1,
        "0.00002853",
        "0.00002854",
        "0.00002851",
        "0.00002854",
        Decimal("36304.20000000"),
        "79",
    ]
    assert rows[0]["vwap"] == Decimal("1.03547608") / Decimal("36304.20000000")


def test_binance_microseconds_header_and_zip_give_the_same_candles(tmp_path):
    _, reference = rows_of(BINANCE_CSV)
    lines = BINANCE_CSV.read_text().splitlines()
    micro = tmp_path / "micro.csv"
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_base,taker_quote,ignore"
    )
    micro.write_text(
        "\n".join([header, *(f"{line.split(',', 1)[0]}000,{line.split(',', 1)[1]}" for line in lines)])
    )
    packed = tmp_path / "klines.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        archive.write(micro, "ADABTC-1m-2021-11-27.csv")
    for path in (micro, packed):
        candles, rows = rows_of(path)
        assert (candles.fmt, candles.unit) == ("binance_csv", "us")
        assert [r["candle_time"] for r in rows] == [r["candle_time"] for r in reference]
        assert rows[0]["line"] == 2  # the header is line 1


def test_binance_rest_json():
    candles, rows = rows_of(FIXTURES / "nautilus_http_spot_market_klines.json")
    assert (candles.fmt, candles.timeframe, candles.unit) == ("binance_json", "1m", "ms")
    assert len(rows) == 10
    assert rows[0]["candle_time"] == at(2021, 10, 22, 23, 3)
    assert rows[-1]["candle_time"] == at(2021, 10, 22, 23, 12)
    assert (rows[0]["open"], rows[0]["close"], rows[0]["trade_count"]) == (
        "60685.22000000",
        "60719.27000000",
        "617",
    )


def test_coingecko_market_chart_points_become_candles():
    candles, rows = rows_of(FIXTURES / "coingecko_market_chart_btc_2018-08-27.json")
    assert (candles.fmt, candles.timeframe, candles.unit) == ("coingecko_chart", "5m", "ms")
    assert [r["candle_time"] for r in rows] == [
        at(2018, 8, 27, 12, 40),
        at(2018, 8, 27, 12, 45),
        at(2018, 8, 27, 12, 50),
        at(2018, 8, 27, 12, 55),
        at(2018, 8, 27, 13, 5),  # 13:00 had no point: missing, not invented
    ]
    last = rows[-1]  # two points, 13:05:02 and 13:09:44
    assert (last["open"], last["high"], last["low"], last["close"]) == (
        Decimal("6703.7499879964"),
        Decimal("6706.898948451269"),
        Decimal("6703.7499879964"),
        Decimal("6706.898948451269"),
    )


def test_coingecko_market_chart_into_a_longer_timeframe():
    candles, rows = rows_of(FIXTURES / "coingecko_market_chart_btc_2018-08-27.json", timeframe="1h")
    assert candles.timeframe == "1h"
    assert [(r["candle_time"], r["open"], r["close"]) for r in rows] == [
        (at(2018, 8, 27, 12), Decimal("6756.942910425894"), Decimal("6668.291007556478")),
        (at(2018, 8, 27, 13), Decimal("6703.7499879964"), Decimal("6706.898948451269")),
    ]
    assert rows[0]["low"] == Decimal("6668.291007556478")


def test_coingecko_market_chart_volume_series(tmp_path):
    chart = {
        "prices": [[1704067200000, 10], [1704067500000, 12.5], [1704067800000, 11]],
        "market_caps": [[1704067200000, 1000], [1704067500000, 1250], [1704067800000, 1100]],
        "total_volumes": [[1704067200000, 5], [1704067500000, 6], [1704067800000, 7]],
    }
    path = tmp_path / "chart.json"
    path.write_text(json.dumps(chart))
    _, rows = rows_of(path, timeframe="15m")
    assert len(rows) == 1
    assert [rows[0][k] for k in ("open", "high", "low", "close", "volume", "market_cap")] == [
        10,
        12.5,
        10,
        11,
        7,
        1100,
    ]


def test_coingecko_csv_export():
    candles, rows = rows_of(DEMO / "coingecko_btc-usd-max.csv")
    assert (candles.fmt, candles.timeframe, candles.unit) == ("coingecko_csv", "1d", "iso")
    assert len(rows) == 4278
    assert rows[0]["candle_time"] == at(2013, 4, 28)
    assert rows[-1]["candle_time"] == at(2025, 1, 14)
    assert rows[0]["close"] == Decimal("135.3") and rows[0]["market_cap"] == "1500517590"
    # 2017-06-06 23:29:55 UTC is an off-midnight snapshot: it is the 06-06 candle.
    off = next(r for r in rows if r["line"] == 1500)
    assert off["candle_time"] == at(2017, 6, 6) and off["open"] == off["close"] == Decimal("2903.4438")


def test_coingecko_ohlc_is_shifted_to_the_open_time(tmp_path):
    path = tmp_path / "ohlc.json"
    path.write_text("[[1704081600000, 1, 2, 0.5, 1.5], [1704096000000, 1.5, 3, 1, 2]]")  # 04:00, 08:00
    candles, rows = rows_of(path)
    assert (candles.fmt, candles.timeframe) == ("coingecko_ohlc", "4h")
    assert [r["candle_time"] for r in rows] == [at(2024, 1, 1, 0), at(2024, 1, 1, 4)]


@pytest.mark.parametrize("packed", [False, True])
def test_freqtrade_json_and_jsongz(tmp_path, packed):
    text = "[[1514764800000, 0.1, 0.2, 0.05, 0.15, 10.5], [1514765100000, 0.15, 0.16, 0.1, 0.12, 3]]"
    path = tmp_path / ("pair-5m.json.gz" if packed else "pair-5m.json")
    path.write_bytes(gzip.compress(text.encode()) if packed else text.encode())
    candles, rows = rows_of(path)
    assert (candles.fmt, candles.timeframe) == ("freqtrade_jsongz" if packed else "freqtrade_json", "5m")
    assert rows[1]["candle_time"] == at(2018, 1, 1, 0, 5)
    assert rows[0]["open"] == Decimal("0.1")  # parsed as Decimal, never through float


@pytest.mark.parametrize(
    ("name", "count", "first_open"),
    [("ETH", 5760, "0.0984"), ("ADA", 5720, "0.0000533"), ("TRX", 5754, "0.00010766")],
)
def test_freqtrade_feather(name, count, first_open):
    candles, rows = rows_of(DEMO / f"{name}_BTC-5m.feather")
    assert (candles.fmt, candles.timeframe, candles.unit) == ("feather", "5m", "ns")
    assert len(rows) == count
    assert rows[0]["candle_time"] == at(2018, 1, 10, 4, 55)
    assert rows[-1]["candle_time"] == at(2018, 1, 30, 4, 50)
    # Float residue (5.330000000000001e-05) is not carried into the Decimal.
    assert rows[0]["open"] == Decimal(first_open)


def test_generic_csv_with_header_iso_times_and_scientific_notation(tmp_path):
    path = tmp_path / "candles.csv"
    path.write_text(
        "Date;Open;High;Low;Close;Volume\n"
        "2024-01-01T00:00:00Z;1e-10;2E-10;1e-10;1.5e-10;0\n"
        "2024-01-01T01:00:00+00:00;1.5e-10;2e-10;1e-10;2e-10;12\n"
    )
    candles, rows = rows_of(path)
    assert (candles.fmt, candles.timeframe, candles.unit) == ("csv", "1h", "iso")
    assert rows[1]["candle_time"] == at(2024, 1, 1, 1)
    assert Decimal(rows[0]["open"]) == Decimal("0.0000000001")


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1704067200, "s"),
        ("1704067200000", "ms"),
        (1704067200000000, "us"),
        ("1704067200000000000", "ns"),
        ("2024-01-01T00:00:00Z", "iso"),
        ("2024-01-01 00:00:00 UTC", "iso"),
        ("2024-01-01T01:00:00+01:00", "iso"),
    ],
)
def test_timestamp_units_from_magnitude(value, unit):
    assert parse_timestamp(value) == (at(2024, 1, 1), unit)


@pytest.mark.parametrize("value", ["yesterday", "", None, "2024-13-01", "NaN", "-99999999999", 10**21])
def test_unparsable_timestamps(value):
    with pytest.raises(ValueError, match="not a time"):
        parse_timestamp(value)


def test_stated_timeframe_that_the_spacing_contradicts_is_refused():
    with pytest.raises(TimeframeMismatch) as caught:
        read_candles(DEMO / "ETH_BTC-5m.feather", timeframe="1h")
    assert "5m" in str(caught.value) and "1h" in str(caught.value)
    assert read_candles(DEMO / "ETH_BTC-5m.feather", timeframe="5m").timeframe == "5m"


def test_spacing_that_is_no_timeframe_is_refused(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("".join(f"{1704067200 + 7 * 60 * i},1,1,1,1,1\n" for i in range(5)))
    with pytest.raises(ImportFormatError, match="7m apart"):
        read_candles(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02 binary", "header lacks"),
        (b'{"not": "candles"}', "market_chart"),
        (b"[[1, 2, 3]]", "no known candle format"),
        (b"when,what\n1,2\n", "header lacks"),
        (b"[]", "JSON list is empty"),
        # A CoinGecko /coins/markets file is JSON objects, but not candles.
        (
            (FIXTURES / "coingecko_markets_btc_2024-12-10.json").read_bytes(),
            "lack candle_time, open, high, low",
        ),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.dat"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=message):
        read_candles(path)


def test_stated_format_must_match(tmp_path):
    with pytest.raises(ImportFormatError, match="holds binance_csv data, not feather"):
        read_candles(BINANCE_CSV, fmt="feather")


def test_reading_is_lazy(tmp_path):
    """Rows are read one at a time: memory does not grow with the file."""
    path = tmp_path / "big.csv"
    start = 1704067200000
    rows = 60_000
    with path.open("w") as handle:
        for i in range(rows):
            handle.write(f"{start + i * 60_000},1,2,0.5,1.5,10,0,0,1,0,0,0\n")
    tracemalloc.start()
    try:
        candles = read_candles(path)
        count = sum(1 for _ in candles.rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    candles.close()
    assert count == rows
    assert peak < 8 * 2**20, f"reading {rows} rows peaked at {peak / 2**20:.1f} MB"
