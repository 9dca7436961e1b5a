"""Readers of market data files: each yields candle rows lazily, one dict per candle.

A row is a dict of `line` and the keys of `assets.candle_columns.CANDLE_KEYS` (candle_time, the
prices and volume; trade_count, vwap and market_cap where the source has them). `line` is the
source line number (for JSON, the 1-based position of the element in its array). Values are
left as the source spells them (strings, Decimal, int); `assets.services.validation.candle_parse`
turns them into checked Decimals, so a bad value is rejected there with its line instead of
stopping the file. Times that parse are aware UTC datetimes (the candle's open time); a time
that does not parse is passed on as is.
"""

import csv
import gzip
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import chain, compress, islice, pairwise, repeat
from pathlib import Path
from statistics import median

from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.timeframes import (
    EPOCH,
    UnknownTimeframe,
    describe_gap,
    floor_time,
    parse_timestamp,
    timeframe_check,
    timeframe_delta,
)

from .candle_columns import PRICE_KEYS

FORMATS = (
    "binance_csv",
    "binance_json",
    "coingecko_chart",
    "coingecko_ohlc",
    "coingecko_csv",
    "freqtrade_json",
    "freqtrade_jsongz",
    "feather",
    "csv",
    "json_records",
)
# Sources of prices sampled at points in time, not of candles: they are bucketed into candles.
POINT_FORMATS = {"coingecko_chart", "coingecko_csv"}

SAMPLE_ROWS = 1000  # rows read ahead to infer the timeframe

# Header names accepted for each candle field (lower-cased, spaces and dashes as underscores).
ALIASES = {
    "candle_time": (
        "timestamp",
        "time",
        "date",
        "datetime",
        "open_time",
        "opentime",
        "candle_time",
        "ts",
        "snapped_at",
    ),
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price", "price"),
    "volume": ("volume", "v", "vol", "base_volume", "total_volume"),
    "trade_count": ("trade_count", "trades", "count", "number_of_trades"),
    "vwap": ("vwap",),
    "market_cap": ("market_cap",),
}
REQUIRED = ("candle_time", *PRICE_KEYS)
POSITIONAL = (*REQUIRED, "volume")


class ImportFormatError(ValueError):
    """The file cannot be read as market data (unknown or inconsistent format)."""


class TimeframeMismatch(ImportFormatError):
    """The data's spacing disagrees with the timeframe the caller stated."""


# --- Timeframe inference ---------------------------------------------------------------------


def infer_timeframe(times: list[datetime], *, points: bool) -> str | None:
    """Return the timeframe whose length is the median spacing of `times` (None for fewer than two).

    Candles must sit exactly one timeframe apart; price points (sampled off-grid) get the largest
    timeframe not longer than their spacing, since a candle can only be built from points inside it.
    """
    ordered = sorted(set(times))
    gaps = [b - a for a, b in pairwise(ordered)]
    if not gaps:
        return None
    gap = median(gaps)
    if timedelta(days=28) <= gap <= timedelta(days=31):
        return Timeframe.MO1.value
    if points:
        fitting = [tf for tf, delta in TIMEFRAME_DELTAS.items() if delta <= gap * 1.2]
        return (fitting[-1] if fitting else Timeframe.M1).value
    for tf, delta in TIMEFRAME_DELTAS.items():
        if gap == delta:
            return tf.value
    supported = ", ".join(Timeframe.values)
    raise ImportFormatError(f"the candles are {describe_gap(gap)} apart, which is no timeframe ({supported})")


# --- Format detection and readers ------------------------------------------------------------


def _header_map(header: list[str]) -> dict[str, int]:
    """Return field -> column index for a header row, by the names in ALIASES."""
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    found = {}
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias in names:
                found[key] = names.index(alias)
                break
    return found


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return True


@dataclass
class Source:
    """An opened file: its format, whether it holds candles or price points, and its rows."""

    fmt: str
    rows: Iterator[dict]
    points: bool = False
    count: int | Callable[[], int] | None = None  # rows expected, or how to count them (lazily)
    closers: list = field(default_factory=list)
    # Binance kline CSV: the lines the rows come from, their reader and its delimiter, so that
    # read_candles(chunks=True) can hand the rows after its sample on in KlineChunks.
    klines: tuple | None = None

    @property
    def total(self) -> int | None:
        """Return the number of rows expected, for a progress bar (counted on first use)."""
        if callable(self.count):
            self.count = self.count()
        return self.count

    def close(self) -> None:
        for closer in self.closers:
            closer.close()


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _open_text(path: Path) -> tuple[io.TextIOBase, list]:
    """Return a text stream of the file (unpacking .zip and .gz) and the handles to close."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            archive.close()
            raise ImportFormatError(f"a zip must hold exactly one file, this one holds {len(members)}")
        raw = archive.open(members[0])
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""), [raw, archive]
    if magic.startswith(b"\x1f\x8b"):
        raw = gzip.open(path, "rb")  # noqa: SIM115 - closed by Source.close()
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""), [raw]
    text = path.open(encoding="utf-8-sig", errors="replace", newline="")
    return text, [text]


def open_source(path: Path | str, fmt: str = "auto") -> Source:
    """Open `path`, detect its format (or check the stated one) and return its rows, unread."""
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; use one of: auto, {', '.join(FORMATS)}")
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith((b"ARROW1", b"FEA1")):
        source = _feather_source(path)
    else:
        try:
            text, closers = _open_text(path)
            head = text.read(1 << 16)
        except (UnicodeDecodeError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ImportFormatError(f"not a text, zip, gzip or feather file ({exc})") from None
        start = head.lstrip()[:1]
        if start == "[":  # a list of candles: parsed element by element, never whole
            try:
                source = _json_source(JSONArray(text, head), gz=magic.startswith(b"\x1f\x8b"))
            except Exception:
                for closer in closers:
                    closer.close()
                raise
            source.closers = closers
        elif start == "{":  # a CoinGecko market_chart object: read whole, so its size is capped
            try:
                rest = text.read(JSON_OBJECT_LIMIT - len(head) + 1)
                if len(head) + len(rest) > JSON_OBJECT_LIMIT:
                    raise ImportFormatError(
                        f"a JSON object is read whole, and this one is over {JSON_OBJECT_LIMIT >> 20} MB: "
                        "split it, or use a list of candles"
                    )
                document = _json_load(path, head + rest)
            finally:
                for closer in closers:
                    closer.close()
            source = _json_source(document, gz=magic.startswith(b"\x1f\x8b"))
        else:
            for closer in closers:
                closer.close()
            text, closers = _open_text(path)
            lines = partial(_count_lines, path) if not magic.startswith((b"PK", b"\x1f\x8b")) else None
            try:
                source = _csv_source(text, head, lines)
            except Exception:
                for closer in closers:
                    closer.close()
                raise
            source.closers = closers
    if fmt not in ("auto", source.fmt):
        source.close()
        raise ImportFormatError(f"the file holds {source.fmt} data, not {fmt}")
    return source


# Bounds that keep an import's memory flat whatever the file holds (see the tests' RSS check).
LINE_LIMIT = 1 << 16  # characters in one CSV line or one JSON list element; candles need < 500
JSON_OBJECT_LIMIT = 16 << 20  # characters of a JSON object, which is parsed whole
OVERLONG = f"(a line longer than {LINE_LIMIT} characters, not read)"


def capped_lines(text: io.TextIOBase, limit: int = LINE_LIMIT) -> Iterator[str]:
    """Yield the lines of `text`; a line longer than `limit` is skipped, reading it in pieces, and
    stands as one cell saying so (rejected with its line number like any bad row)."""
    readline = text.readline
    while line := readline(limit):
        if len(line) == limit and not line.endswith(("\n", "\r")):
            while (rest := readline(limit)) and len(rest) == limit and not rest.endswith(("\n", "\r")):
                pass
            yield f'"{OVERLONG}"\n'
        else:
            yield line


class JSONArray:
    """The elements of a top-level JSON array, parsed one at a time as the text is read.

    `first` is the first element (None for an empty array); iterating yields them all. Invalid
    JSON raises ImportFormatError where it is met.
    """

    CHUNK = 1 << 16

    def __init__(self, text: io.TextIOBase, head: str):
        self._text = text
        self._decoder = json.JSONDecoder(parse_float=Decimal)
        self._items = self._parse(head)
        self.first = next(self._items, None)

    def __iter__(self) -> Iterator:
        if self.first is not None:
            yield self.first
            yield from self._items

    def __bool__(self) -> bool:
        return self.first is not None

    def _parse(self, buffer: str) -> Iterator:
        pos, ended = 0, False

        def more() -> bool:
            nonlocal buffer, pos, ended
            chunk = "" if ended else self._text.read(self.CHUNK)
            ended = ended or not chunk
            buffer, pos = buffer[pos:] + chunk, 0
            return bool(chunk)

        def skip_space() -> None:
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buffer) or not more():
                    return

        skip_space()
        if buffer[pos : pos + 1] != "[":
            raise ImportFormatError("invalid JSON: expected a list")
        pos += 1
        skip_space()
        if buffer[pos : pos + 1] == "]":
            return
        number = 0
        while True:
            number += 1
            while True:
                try:
                    value, end = self._decoder.raw_decode(buffer, pos)
                    if end < len(buffer) or ended:  # not a prefix of a longer value
                        break
                except json.JSONDecodeError as exc:
                    if ended:
                        raise ImportFormatError(f"invalid JSON in element {number} ({exc.msg})") from None
                if len(buffer) - pos > LINE_LIMIT:
                    raise ImportFormatError(
                        f"element {number} of the JSON list is over {LINE_LIMIT} characters"
                    )
                more()
            pos = end
            yield value
            skip_space()
            separator = buffer[pos : pos + 1]
            pos += 1
            if separator == "]":
                return
            if separator != ",":
                raise ImportFormatError(f"invalid JSON after element {number}: expected ',' or ']'")
            skip_space()


def _json_load(path: Path, text: str):
    try:
        return json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"invalid JSON ({exc})") from None


def _csv_source(text: io.TextIOBase, head: str, lines: Callable[[], int] | None) -> Source:
    """Return the rows of a CSV text: Binance klines, a CoinGecko export or a CSV with a header."""
    first_line = head.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    lines = capped_lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError("the file is empty") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"unreadable CSV ({exc})") from None
    total = lines
    if not header:
        raise ImportFormatError("the first line is empty")
    if _is_number(header[0]):  # no header
        first = [header]
        if len(header) >= 12:
            klines = (lines, reader, delimiter)
            return Source(
                "binance_csv", _binance_rows(chain(first, reader), reader), count=total, klines=klines
            )
        if len(header) in (5, 6):
            columns = dict(zip(POSITIONAL, range(6), strict=False))
            return Source("csv", _mapped_rows(chain(first, reader), reader, columns), count=total)
        raise ImportFormatError(f"a CSV without a header must have 6 or 12 columns, not {len(header)}")
    columns = _header_map(header)
    names = {h.strip().lower() for h in header}
    if {"snapped_at", "price"} <= names:
        return Source("coingecko_csv", _mapped_rows(reader, reader, columns), points=True, count=total)
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise ImportFormatError(f"the CSV header lacks {', '.join(missing)} (found: {', '.join(header)})")
    if len(header) >= 12 and header[0].strip().lower() == "open_time":
        return Source(
            "binance_csv", _binance_rows(reader, reader), count=total, klines=(lines, reader, delimiter)
        )
    return Source("csv", _mapped_rows(reader, reader, columns), count=total)


def _binance_rows(rows, reader) -> Iterator[dict]:
    """Yield candles from Binance kline columns (open_time, o, h, l, c, volume, close_time,
    quote_volume, trades, ...); the VWAP is quote volume over base volume."""
    for cells in rows:
        if not cells:
            continue
        yield binance_kline_row(cells, reader.line_num)


KLINE_CHUNK = 10_000  # rows of a KlineChunk


@dataclass
class KlineChunk:
    """Consecutive Binance kline rows as read: their cells and line numbers.

    services.validation.klines_clean checks a whole chunk at once (C-level maps over its columns,
    no dict per row); `rows()` gives them as import rows, for the row-by-row check that names
    what is wrong with a bad one.
    """

    cells: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def rows(self) -> Iterator[dict]:
        return _timed_rows((binance_kline_row(c, n) for c, n in zip(self.cells, self.lines, strict=True)), [])


def _kline_chunks(lines: Iterator[str], reader, delimiter: str, size: int) -> Iterator[KlineChunk]:
    """Yield the CSV rows of `lines` after those `reader` read, in KlineChunks with their line numbers.

    A chunk's lines are parsed at once; on a damaged CSV the rows before the damage come first.
    """
    line = reader.line_num
    while text := list(islice(lines, size)):
        rows = _split_rows(text, delimiter)
        if rows is None:
            try:
                rows = list(csv.reader(text, delimiter=delimiter))
            except csv.Error:
                rows = None
        error = None
        if rows is not None and len(rows) == len(text):
            numbers = range(line + 1, line + 1 + len(text))
        else:  # damage, or a quoted field across lines: numbered as the row reader does
            rows, numbers, error = _numbered_rows(text, delimiter, line)
        line += len(text)
        if [] in rows:  # empty lines are skipped, as the row reader does
            keep = list(map(bool, rows))
            rows, numbers = list(compress(rows, keep)), list(compress(numbers, keep))
        if rows:
            yield KlineChunk(rows, list(numbers))
        if error:
            raise ImportFormatError(error)


def _split_rows(text: list[str], delimiter: str) -> list[list[str]] | None:
    """Return the cells of `text`'s lines split at `delimiter`, or None unless that reads them as
    csv.reader would: no quote, NUL, lone carriage return or empty line (a third of the cost of
    csv.reader, which the others go to)."""
    blob = "".join(text)
    if '"' in blob or "\0" in blob or "\n\n" in blob or blob.startswith(("\n", "\r")):
        return None
    if "\r" in blob:
        if blob.count("\r") != blob.count("\r\n") or "\r\n\r\n" in blob:
            return None
        blob = blob.replace("\r\n", "\n")
    pieces = blob.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    if len(pieces) != len(text) or "" in pieces:  # an empty line, "\r\n" after "\n" among them
        return None
    return list(map(str.split, pieces, repeat(delimiter)))


def _numbered_rows(text: list[str], delimiter: str, line: int) -> tuple[list, list, str | None]:
    """Return the rows of `text`, each one's line number and the error that stopped the reading."""
    reader = csv.reader(text, delimiter=delimiter)
    rows, numbers = [], []
    try:
        for cells in reader:
            rows.append(cells)
            numbers.append(line + reader.line_num)
    except csv.Error as exc:
        return rows, numbers, f"unreadable CSV ({exc})"
    return rows, numbers, None


def binance_kline_row(cells, line: int) -> dict:
    """Return one Binance kline (12 text cells, from a CSV or the REST API) as an import row."""
    if len(cells) < 9:
        return {
            "line": line,
            "candle_time": cells[0],
            "open": f"{len(cells)} columns, Binance klines have 12",
        }
    row = {
        "line": line,
        "candle_time": cells[0],
        "open": cells[1],
        "high": cells[2],
        "low": cells[3],
        "close": cells[4],
        "volume": cells[5],
        "trade_count": cells[8],
    }
    try:
        volume, quote = Decimal(cells[5]), Decimal(cells[7])
        if volume > 0 and quote > 0:
            row["volume"] = volume  # parsed once; a bad volume stays text, rejected later with its line
            row["vwap"] = quote / volume
    except (InvalidOperation, TypeError):
        pass
    return row


def _mapped_rows(rows, reader, columns: dict[str, int]) -> Iterator[dict]:
    items = list(columns.items())
    for cells in rows:
        if not cells:
            continue
        row = {"line": reader.line_num}
        for key, index in items:
            row[key] = cells[index] if index < len(cells) else None
        yield row


def _json_source(document, *, gz: bool) -> Source:
    """Return the rows of a parsed JSON document: Binance klines, CoinGecko chart or OHLC, freqtrade."""
    if isinstance(document, dict):
        if "prices" not in document:
            raise ImportFormatError("a JSON object must be a CoinGecko market_chart (with 'prices')")
        return Source("coingecko_chart", _chart_rows(document), points=True, count=len(document["prices"]))
    if not isinstance(document, (list, JSONArray)):
        raise ImportFormatError("a JSON file must hold a list of candles or a CoinGecko market_chart")
    if not document:
        raise ImportFormatError("the JSON list is empty: no candles to import")
    first = document.first if isinstance(document, JSONArray) else document[0]
    total = None if isinstance(document, JSONArray) else len(document)
    if isinstance(first, dict):
        missing = [key for key in REQUIRED if key not in _header_map(list(first))]
        if missing:
            found = ", ".join(map(str, list(first)[:10]))
            raise ImportFormatError(f"the JSON objects lack {', '.join(missing)} (found: {found})")
        return Source("json_records", _record_rows(document), count=total)
    if not isinstance(first, list):
        raise ImportFormatError("a JSON list must hold arrays or objects")
    if len(first) >= 12:
        return Source("binance_json", _array_rows(document, binance=True), count=total)
    if len(first) == 6:
        fmt = "freqtrade_jsongz" if gz else "freqtrade_json"
        return Source(fmt, _array_rows(document), count=total)
    if len(first) == 5:
        return Source("coingecko_ohlc", _array_rows(document), count=total)
    raise ImportFormatError(f"JSON arrays of {len(first)} values are no known candle format")


def _array_rows(document: list, *, binance: bool = False) -> Iterator[dict]:
    for number, cells in enumerate(document, start=1):
        if binance:
            yield binance_kline_row([_text(c) for c in cells], number)
            continue
        row = dict(zip(POSITIONAL, cells, strict=False))
        row["line"] = number
        yield row


def _text(value) -> str:
    return str(value) if not isinstance(value, str) else value


def _record_rows(document: list) -> Iterator[dict]:
    for number, record in enumerate(document, start=1):
        # A missing field (or a record that is no object) stays None: rejected later with its line.
        row = dict.fromkeys(REQUIRED)
        if isinstance(record, dict):
            values = list(record.values())
            row.update({key: values[index] for key, index in _header_map(list(record)).items()})
        row["line"] = number
        yield row


def _chart_rows(document: dict) -> Iterator[dict]:
    """Yield CoinGecko market_chart points: price with the volume and cap of the same instant."""
    volumes = {point[0]: point[1] for point in document.get("total_volumes") or []}
    caps = {point[0]: point[1] for point in document.get("market_caps") or []}
    for number, (stamp, price) in enumerate(document["prices"], start=1):
        yield {
            "line": number,
            "candle_time": stamp,
            "close": price,
            "volume": volumes.get(stamp),
            "market_cap": caps.get(stamp),
        }


def _feather_source(path: Path) -> Source:
    import pyarrow as pa
    import pyarrow.feather as feather

    try:
        table = feather.read_table(path, memory_map=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFormatError(f"unreadable feather file ({exc})") from None
    columns = _header_map(table.column_names)
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise ImportFormatError(f"the feather file lacks {', '.join(missing)} (has {table.column_names})")
    return Source("feather", _feather_rows(table, columns), count=table.num_rows)


def _float_decimal(value: float) -> Decimal:
    """Return a float64 as the Decimal it was meant to be: 15 significant digits, the most a
    float64 holds faithfully, so 5.330000000000001e-05 (arithmetic residue) reads 0.0000533."""
    return Decimal(format(value, ".15g"))


def _feather_rows(table, columns: dict[str, int]) -> Iterator[dict]:
    """Yield the rows batch by batch (memory-mapped file, so memory stays flat)."""
    import pyarrow as pa

    line = 0
    for batch in table.to_batches(max_chunksize=50_000):
        values = {}
        for key, index in columns.items():
            column = batch.column(index)
            if key == "candle_time" and pa.types.is_timestamp(column.type):
                unit = column.type.unit  # s, ms, us or ns: the epoch integers are told apart by size
                values[key] = column.cast(pa.timestamp(unit, tz="UTC")).cast(pa.int64()).to_pylist()
            elif pa.types.is_floating(column.type):
                values[key] = [None if x is None else _float_decimal(x) for x in column.to_pylist()]
            else:
                values[key] = column.to_pylist()
        keys = list(values)
        for cells in zip(*values.values(), strict=True):
            line += 1
            row = dict(zip(keys, cells, strict=True))
            row["line"] = line
            yield row


# --- Candles from a source -------------------------------------------------------------------


@dataclass
class CandleFile:
    """Candle rows of one file, with what was detected about it."""

    fmt: str
    timeframe: str | None
    unit: str | None
    rows: Iterator[dict]
    source: Source

    @property
    def total(self) -> int | None:
        return self.source.total

    def close(self) -> None:
        self.source.close()


def _timed(rows: Iterator[dict], units: list) -> Iterator[dict]:
    """Parse each row's time where possible, noting the unit of the first one that parses."""
    try:
        yield from _timed_rows(rows, units)
    except csv.Error as exc:
        raise ImportFormatError(f"unreadable CSV ({exc})") from None


def _timed_rows(rows: Iterator[dict], units: list) -> Iterator[dict]:
    for row in rows:
        raw = row.get("candle_time")
        try:
            if raw.__class__ is str and len(raw) == 13 and raw.isdecimal():  # ms, the common case
                row["candle_time"], unit = EPOCH + timedelta(milliseconds=int(raw)), "ms"
            else:
                row["candle_time"], unit = parse_timestamp(raw)
        except ValueError:
            pass
        else:
            if not units:
                units.append(unit)
        yield row


def read_candles(
    path: Path | str, *, fmt: str = "auto", timeframe: str | None = None, chunks: bool = False
) -> CandleFile:
    """Open a market data file and return its candles, with the format, timeframe and time unit.

    The timeframe is inferred from the spacing of the first rows; a stated `timeframe` that the
    spacing contradicts is refused (price points may be bucketed into a longer timeframe).
    `chunks`: the rows of a Binance kline CSV after those first ones come as KlineChunks (for
    candles_upsert, which checks a chunk at once), not one dict each.
    """
    if timeframe is not None:
        try:
            timeframe_check(timeframe)
        except UnknownTimeframe as exc:
            raise ImportFormatError(str(exc)) from None
    source = open_source(path, fmt)
    try:
        units: list[str] = []
        rows = _timed(source.rows, units)
        sample = list(islice(rows, SAMPLE_ROWS))
        times = [row["candle_time"] for row in sample if isinstance(row["candle_time"], datetime)]
        inferred = infer_timeframe(times, points=source.points)
        chosen = _timeframe_choose(stated=timeframe, inferred=inferred, points=source.points, times=times)
        if chunks and source.klines is not None:
            rows = _kline_chunks(*source.klines, KLINE_CHUNK)  # the dict rows read none beyond the sample
        rows = chain(sample, rows)
        if source.points and chosen:
            rows = _bucketed(rows, chosen)
        elif source.fmt == "coingecko_ohlc" and chosen:
            rows = _shifted(rows, TIMEFRAME_DELTAS[chosen])
    except Exception:
        source.close()
        raise
    return CandleFile(source.fmt, chosen, units[0] if units else None, rows, source)


def _timeframe_choose(*, stated, inferred, points: bool, times: list) -> str | None:
    if stated is None:
        if inferred is None and times:
            raise ImportFormatError("one row is not enough to infer the timeframe: pass the timeframe")
        return inferred
    if inferred is None or stated == inferred:
        return stated
    if points and timeframe_delta(stated) > timeframe_delta(inferred):
        return stated  # points a few minutes apart make good hourly or daily candles
    raise TimeframeMismatch(
        f"the data's spacing is {inferred} but the timeframe given is {stated}: "
        "check the file or pass the matching timeframe"
    )


def _shifted(rows: Iterator[dict], delta: timedelta) -> Iterator[dict]:
    """Move candles stamped at their close (CoinGecko OHLC) to their open time."""
    for row in rows:
        if isinstance(row["candle_time"], datetime):
            row["candle_time"] -= delta
        yield row


def _bucketed(points: Iterator[dict], timeframe: str) -> Iterator[dict]:
    """Turn consecutive price points into candles: open first, high max, low min, close last.

    Volume and market cap are the series' values at the period's last point (CoinGecko's volume
    is a rolling 24h figure, so it is not summed). A point that does not parse becomes a row of its
    own, so that it is rejected with its line.
    """
    candle = None
    for point in points:
        moment, price = point["candle_time"], point.get("close")
        try:
            price = price if isinstance(price, Decimal) else Decimal(str(price).strip())
            valid = isinstance(moment, datetime) and price.is_finite()
        except InvalidOperation:
            valid = False
        if not valid:
            if candle:
                yield candle
                candle = None
            yield {**point, "open": point.get("close"), "high": point.get("close"), "low": point.get("close")}
            continue
        start = floor_time(moment, timeframe)
        if candle is None or candle["candle_time"] != start:
            if candle:
                yield candle
            candle = {"line": point["line"], "candle_time": start, "open": price, "high": price, "low": price}
        candle["high"] = max(candle["high"], price)
        candle["low"] = min(candle["low"], price)
        candle["close"] = price
        candle["volume"] = _blank_to_none(point.get("volume")) or Decimal(0)
        candle["market_cap"] = _blank_to_none(point.get("market_cap"))
    if candle:
        yield candle


def _blank_to_none(value):
    return None if value is None or (isinstance(value, str) and not value.strip()) else value
