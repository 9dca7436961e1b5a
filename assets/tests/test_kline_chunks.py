"""Binance kline CSVs checked a chunk at once: the same candles and rejections as row by row."""

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from assets import importers
from assets.candle_writes import POSITION, TEXT, copy_text, stored_same
from assets.importers import KlineChunk, read_candles
from assets.models import PriceData
from assets.services.importing import candles_import
from assets.services.validation import _candle_fast, _utc_times, klines_clean
from assets.services.writing import _batches, _clean_rows
from assets.tests.factories import AssetFactory

START_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


def kline(i: int, **changes) -> list[str]:
    """Return the 12 cells of the i-th 1m kline of a small walk (every 7th has no volume)."""
    close = 100 + i % 13
    volume = "0" if i % 7 == 0 else f"{1 + i % 5}.12345678"
    cells = {
        "time": str(START_MS + i * 60_000),
        "open": f"{close - 0.5}",
        "high": f"{close + 1}",
        "low": f"{close - 1}",
        "close": f"{close}",
        "volume": volume,
        "quote": "0" if volume == "0" else f"{(1 + i % 5) * close}.37",
        "trades": str(10 + i),
    } | changes
    named = [cells[k] for k in ("time", "open", "high", "low", "close", "volume")]
    return [*named, "0", cells["quote"], cells["trades"], "0", "0", "0"]


def chunk_of(cells: list[list[str]]) -> KlineChunk:
    return KlineChunk(cells, list(range(1, len(cells) + 1)))


def one_by_one(chunk: KlineChunk) -> list:
    return [_candle_fast(row, "1m", row["line"]) for row in chunk.rows()]


def copy_values(row: tuple) -> list:
    """Return the values of the COPY line copy_text writes for `row` (numbers as Decimals)."""
    cells = copy_text([row], "").decode().rstrip("\n").split("\t")
    return [cells[0], *(None if cell == "\\N" else Decimal(cell) for cell in cells[1:])]


def test_a_clean_chunk_gives_what_the_rows_give_one_by_one():
    chunk = chunk_of([kline(i) for i in range(60)])
    values = klines_clean(chunk.cells, chunk.lines, "1m")
    assert [v[:TEXT] for v in values] == one_by_one(chunk)
    # Each row carries its COPY line, with the values copy_text writes for it (spelt as the source).
    assert list(map(copy_values, values)) == list(map(copy_values, one_by_one(chunk)))
    assert values[0][7] is None and values[1][7] == Decimal("202.37") / Decimal("2.12345678")
    assert values[1][0] == datetime(2024, 1, 1, 0, 1, tzinfo=UTC) and values[1][0].tzinfo is UTC


FUTURE_MS = int((datetime.now(UTC) + timedelta(days=2)).timestamp() // 60 * 60_000)


@pytest.mark.parametrize(
    ("changes", "rejected"),
    [
        ({"open": "abc"}, "open"),
        ({"close": "NaN"}, "close"),
        ({"low": "104"}, "low"),  # above the open (103.5)
        ({"time": str(START_MS + 30 * 60_000 + 1)}, "candle_time"),
        ({"time": str(FUTURE_MS)}, "candle_time"),
        ({"volume": "-1"}, "volume"),
        ({"trades": "many"}, "trade_count"),
        ({"time": str((START_MS + 30 * 60_000) * 1000)}, None),  # microseconds: fine row by row
        ({"trades": ""}, None),  # no trade count
        ({"quote": "NaN"}, None),  # no VWAP
    ],
)
def test_a_chunk_with_one_odd_row_is_checked_row_by_row(changes, rejected):
    cells = [kline(i) for i in range(60)]
    cells[30] = kline(30, **changes)
    chunk = chunk_of(cells)
    assert klines_clean(chunk.cells, chunk.lines, "1m") is None
    rejections = []
    values = list(_clean_rows([chunk], timeframe="1m", rejected=rejections))
    good = [v for v in one_by_one(chunk_of([kline(i) for i in range(60)])) if v[-1] != 31]
    if rejected is None:
        assert not rejections and len(values) == 60
    else:
        assert [(r.line, list(r.errors)) for r in rejections] == [(31, [rejected])]
        assert values == good


@pytest.mark.parametrize(
    "changes",
    [
        {"open": "1.035e2"},  # an exponent: formatted from the Decimal, never passed on as spelt
        {"close": " 104"},  # spaces
        {"trades": "\u0661\u0662"},  # Arabic-Indic digits, which isdecimal() accepts
        {"volume": "1.123456789"},  # more places than the column keeps: rounded, as stored
    ],
)
def test_a_number_not_spelt_in_plain_digits_is_written_as_its_value(changes):
    cells = [kline(i) for i in range(10)]
    cells[3] = kline(3, **changes)
    chunk = chunk_of(cells)
    values = klines_clean(chunk.cells, chunk.lines, "1m")
    assert values is not None
    line = values[3][TEXT].split("\t")
    assert line == copy_text([values[3][:TEXT]], "").decode().rstrip("\n").split("\t")
    assert copy_values(values[3]) == copy_values(values[3][:TEXT])
    assert not {" 104", "\u0661\u0662", "1.035e2", "1.123456789"} & set(line)


def test_a_short_row_and_other_timeframes_go_row_by_row():
    cells = [kline(i) for i in range(10)]
    assert klines_clean(cells, list(range(10)), "1w") is None  # weeks open on Mondays: not a fixed step
    cells[3] = cells[3][:8]
    assert klines_clean(cells, list(range(10)), "1m") is None


@pytest.mark.django_db
def test_a_big_kline_file_is_imported_in_chunks_like_a_small_one(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "SAMPLE_ROWS", 50)
    monkeypatch.setattr(importers, "KLINE_CHUNK", 100)
    lines = [",".join(kline(i)) for i in range(450)]
    lines[320] = ",".join(kline(320, high="1"))  # line 321: high below the others
    lines.insert(200, "")  # an empty line (line 201) is skipped, the numbering goes on
    path = tmp_path / "klines.csv"
    path.write_text("\n".join(lines) + "\n")
    seen = []
    chunked = read_candles(path, chunks=True)
    for row in chunked.rows:
        seen.append(type(row))
    chunked.close()
    assert seen.count(dict) == 50 and seen.count(KlineChunk) == 5  # 401 lines of 100 a chunk

    asset = AssetFactory()
    report = candles_import(path=path, asset=asset, indicators=False)
    assert (report.inserted, report.rows_read) == (449, 450)
    assert [(r.line, list(r.errors)) for r in report.rejected.first] == [(322, ["high"])]
    stored = PriceData.objects.get(asset=asset, candle_time=datetime(2024, 1, 1, 7, 1, tzinfo=UTC))
    values = klines_clean([kline(421)], [1], "1m")[0]
    assert (stored.close_price, stored.volume, stored.trade_count) == (values[4], values[5], values[6])
    # SQLite keeps decimals as doubles: equal within what a double holds there.
    assert stored_same(stored.vwap, values[7].quantize(Decimal("1e-18")), exact=connection.vendor != "sqlite")


def test_a_chunk_that_repeats_a_time_is_batched_row_by_row_and_the_repeat_rejected():
    first = klines_clean([kline(i) for i in range(10)], list(range(1, 11)), "1m")
    second = klines_clean([kline(i) for i in (10, 4, 11)], [11, 12, 13], "1m")
    rejections = []
    [batch] = list(_batches(iter([first, second]), size=100, rejected=rejections))
    assert len(batch) == 12 and batch[first[4][0]][POSITION] == 12  # the later row is kept
    assert [(r.line, list(r.errors)) for r in rejections] == [(5, ["candle_time"])]
    sizes = [len(b) for b in _batches(iter([first, second]), size=4, rejected=[])]
    # A chunk is split to fill each batch (a time of an earlier batch is not looked for again).
    assert sizes == [4, 4, 4, 1]


@pytest.mark.parametrize(
    "text",
    [
        ["1,2,3\n", "4,5,6\n"],
        ["1,2,3\r\n", "4,5,6\r\n"],
        ["1,2,3\n", "4,5,6"],  # the file's last line has no newline
        ["1,2 ,3\n", " 4,,6\n"],
    ],
)
def test_lines_without_quotes_are_split_as_csv_reads_them(text):
    assert importers._split_rows(text, ",") == list(csv.reader(text))


@pytest.mark.parametrize(
    "text",
    [
        ['1,"2,5",3\n', "4,5,6\n"],  # a quoted delimiter
        ["1,2,3\n", "\n", "4,5,6\n"],  # an empty line, which csv.reader skips
        ["1,2\r3\n"],  # a carriage return alone
        ["1,2,\x003\n"],
        ["1,2,3\r\n", "\r\n"],
        ["1,2,3\n", "\r\n", "4,5,6\n"],  # an empty line of another line ending
    ],
)
def test_lines_split_differently_from_csv_are_left_to_csv_reader(text):
    assert importers._split_rows(text, ",") is None


def test_utc_times_are_the_datetimes_and_isoformat_of_epoch_milliseconds():
    rng = random.Random(7)
    whole = [rng.randrange(0, 4_102_444_800) * 1000 for _ in range(5_000)] + [0, 86_399_000, 951_782_400_000]
    for millis in (whole, [m + rng.randrange(1, 1000) for m in whole]):  # then with milliseconds
        expected = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=m) for m in millis]
        moments, texts = _utc_times(millis)
        assert moments == expected and {m.tzinfo for m in moments} == {UTC}
        assert texts == [moment.isoformat() for moment in expected]
