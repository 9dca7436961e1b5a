"""Validate one candle row: the one check of every candle written, by any path."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import partial
from itertools import repeat
from operator import add, eq, floordiv, itemgetter, le, mod, truediv

from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.numbers import DecimalOverflow, decimal_for_column
from cryptopredict.timeframes import EPOCH, floor_time, parse_timestamp

from ..candle_columns import CANDLE_KEYS, PRICE_KEYS
from ..candle_writes import NULL, POSITION, copy_lines

# Column limits of the candle tables: DecimalField(38, 18) prices, (38, 8) volume, (30, 2) cap.
PRICE_QUANTUM = Decimal("1e-18")
VOLUME_QUANTUM = Decimal("1e-8")
CAP_QUANTUM = Decimal("0.01")
INT_MAX = 2**31 - 1
# Room to quantize any value that fits a column, rounding as the columns do (decimal_for_column).
WIDE = Context(prec=60, rounding=ROUND_HALF_UP)

# A stored row is kept as a tuple to keep batches small: the values of CANDLE_KEYS, then the position.
assert len(CANDLE_KEYS) == POSITION
_clean_values = itemgetter(*CANDLE_KEYS)


def _decimal(
    value, *, quantum: Decimal, max_digits: int, positive: bool
) -> tuple[Decimal | None, str | None]:
    """Return `value` as a column of `max_digits` digits and `quantum` steps stores it, or the reason
    it cannot (decimal_for_column says whether it fits)."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None, f"not a number: {value!r}"
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        return None, f"not a number: {value!r}"
    if not number.is_finite():
        return None, f"not a number: {value!r}"
    if positive and number <= 0:
        return None, f"must be greater than 0, not {number}"
    if not positive and number < 0:
        return None, f"must not be negative, not {number}"
    if positive and number.adjusted() < quantum.as_tuple().exponent:
        return None, f"{number} is below the smallest stored step {quantum}"
    try:
        places = -quantum.as_tuple().exponent
        stored = decimal_for_column(number, max_digits=max_digits, decimal_places=places)
    except DecimalOverflow as exc:
        return None, str(exc)
    # As given when the column keeps it exactly (messages then read 0.4, not 0.400000000000000000).
    return (number if stored == number else stored), None


def _aligned(moment: datetime, timeframe: str) -> bool:
    return floor_time(moment, timeframe) == moment


def candle_parse(row: Mapping, *, timeframe: str | None = None) -> tuple[dict | None, dict[str, list[str]]]:
    """Return the row as clean values (aware UTC candle_time, Decimals) and the errors that stop it.

    Checked: every field parses; prices > 0; low <= open, close <= high; volume >= 0; the time is
    aligned to `timeframe` and not in the future; values fit their columns. A missing volume counts as 0.
    """
    values = _candle_fast(row, timeframe, None)
    if values is not None:
        return dict(zip(CANDLE_KEYS, values, strict=False)), {}
    return _candle_slow(row, timeframe)


# The fast path's bounds stay below the columns' limits by more than rounding (to the column's
# places, or to a double on SQLite) can add: a value that near is left to the slow path, where
# decimal_for_column decides.
NEAR_LIMIT = Decimal("0.999999999999999")
PRICE_MIN, PRICE_MAX = PRICE_QUANTUM, NEAR_LIMIT * 10**20  # numeric(38, 18), above 0
VOLUME_MAX, CAP_MAX = NEAR_LIMIT * 10**30, NEAR_LIMIT * 10**28
ZERO = Decimal(0)
ODD_ALIGNMENT = {Timeframe.W1, Timeframe.MO1}  # not a multiple of a fixed length since the epoch


def _number(value, low: Decimal, high: Decimal) -> Decimal | None:
    """Return a text or Decimal value within [low, high) as a Decimal, else None."""
    kind = type(value)
    if kind is str:
        try:
            value = Decimal(value)
        except InvalidOperation:
            return None
    elif kind is not Decimal:
        return None
    return value if value.is_finite() and low <= value < high else None


def _candle_fast(row: Mapping, timeframe: str | None, position) -> tuple | None:
    """Return the clean values (CANDLE_KEYS, then `position`) when every value is plainly good (the
    bulk of any import), else None.

    Inlined for speed: texts and Decimals only (a float, an int or anything odd goes the slow way).
    """
    try:
        moment = row["candle_time"]
        if moment.__class__ is not datetime or moment.tzinfo is not UTC:
            return None
        if timeframe and (timeframe in ODD_ALIGNMENT or (moment - EPOCH) % TIMEFRAME_DELTAS[timeframe]):
            return None
        if moment > datetime.now(UTC):
            return None
        open_, high, low, close = row["open"], row["high"], row["low"], row["close"]
        open_ = Decimal(open_) if open_.__class__ is str else open_
        high = Decimal(high) if high.__class__ is str else high
        low = Decimal(low) if low.__class__ is str else low
        close = Decimal(close) if close.__class__ is str else close
        volume = row.get("volume")
        volume = ZERO if volume is None else Decimal(volume) if volume.__class__ is str else volume
        if not (
            open_.is_finite()
            and high.is_finite()
            and low.is_finite()
            and close.is_finite()
            and volume.is_finite()
        ):
            return None
        if not (
            PRICE_MIN <= low <= open_ <= high < PRICE_MAX
            and low <= close <= high
            and ZERO <= volume < VOLUME_MAX
        ):
            return None
        count, vwap, cap = row.get("trade_count"), row.get("vwap"), row.get("market_cap")
    except (KeyError, AttributeError, TypeError, InvalidOperation):
        return None
    if count is not None:
        if count.__class__ is str and count.isdecimal() and len(count) < 10:
            count = int(count)
        elif count.__class__ is not int or not 0 <= count <= INT_MAX:
            return None
    if vwap is not None:
        # Not quantized: the column rounds it, and comparisons happen at the column's scale.
        vwap = _number(vwap, PRICE_MIN, PRICE_MAX)
        if vwap is None:
            return None
    if cap == "":
        cap = None
    elif cap is not None:
        cap = _number(cap, ZERO, CAP_MAX)
        if cap is None:
            return None
        cap = cap.quantize(CAP_QUANTUM, context=WIDE)
    volume = volume.quantize(VOLUME_QUANTUM, context=WIDE)
    return (moment, open_, high, low, close, volume, count, vwap, cap, position)


_volume_quantize = partial(Decimal.quantize, exp=VOLUME_QUANTUM, context=WIDE)
MILLISECOND = timedelta(milliseconds=1)
DAY_SECONDS = 86_400


def _plain(texts: tuple[str, ...]) -> bool:
    """Return whether every text is spelt in ASCII digits and dots only: a number spelt so reads
    the same to Decimal and PostgreSQL, and is finite when Decimal reads it."""
    joined = "".join(texts)
    return joined.isascii() and joined.replace(".", "").isdigit()


def _utc_times(millis: list[int]) -> tuple[list[datetime], list[str]]:
    """Return each UTC time given in epoch milliseconds as an aware datetime and as the text its
    isoformat() gives, both made from one value per day and one per second of the day (two
    lookups a row instead of building and formatting each time: 2.6 s a million rows)."""
    if any(map(mod, millis, repeat(1000))):
        moments = [EPOCH + m * MILLISECOND for m in millis]
        return moments, list(map(datetime.isoformat, moments))
    seconds = list(map(floordiv, millis, repeat(1000)))
    days = list(map(floordiv, seconds, repeat(DAY_SECONDS)))
    clock = list(map(mod, seconds, repeat(DAY_SECONDS)))
    midnights = {day: EPOCH + timedelta(days=day) for day in set(days)}
    offsets = {s: timedelta(seconds=s) for s in set(clock)}
    moments = list(map(add, map(midnights.__getitem__, days), map(offsets.__getitem__, clock)))
    day_texts = {day: moment.date().isoformat() + "T" for day, moment in midnights.items()}
    clock_texts = {s: f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00" for s in offsets}
    return moments, list(map(add, map(day_texts.__getitem__, days), map(clock_texts.__getitem__, clock)))


def klines_clean(cells: list[list[str]], lines: list[int], timeframe: str | None) -> list[tuple] | None:
    """Return the clean values (as _candle_fast's, then each row's COPY line: candle_writes.TEXT) of
    Binance kline rows when every one of them is plainly good, else None: the caller then checks
    them row by row, which names what is wrong.

    The same checks and values as importers.binance_kline_row followed by _candle_fast (times in
    epoch milliseconds, VWAP = quote volume / volume), column by column: each step is one map in C
    over a column, not Python code per row, so a chunk costs a fraction of its rows one by one.
    """
    delta = TIMEFRAME_DELTAS.get(timeframe)
    if delta is None or timeframe in ODD_ALIGNMENT or min(map(len, cells)) < 9:
        return None
    times, *texts, volume_texts, _, quotes, counts = list(zip(*cells, strict=False))[:9]
    if not (all(map(str.isdecimal, times)) and {*map(len, times)} == {13}):
        return None
    if not (all(map(str.isdecimal, counts)) and max(map(len, counts)) < 10):
        return None
    millis = list(map(int, times))
    step = delta // MILLISECOND
    if any(map(step.__rmod__, millis)) or max(millis) > (datetime.now(UTC) - EPOCH) // MILLISECOND:
        return None
    plain = [_plain(column) for column in (*texts, volume_texts)]
    try:
        opens, highs, lows, closes, volumes, quotes = (
            list(map(Decimal, column)) for column in (*texts, volume_texts, quotes)
        )
        checked = zip(plain, (opens, highs, lows, closes, volumes), strict=True)
        if not all(known or all(map(Decimal.is_finite, column)) for known, column in checked):
            return None
        if not (
            all(map(le, lows, opens))
            and all(map(le, opens, highs))
            and all(map(le, lows, closes))
            and all(map(le, closes, highs))
            and min(lows) >= PRICE_MIN
            and max(highs) < PRICE_MAX
            and min(volumes) >= ZERO
            and max(volumes) < VOLUME_MAX
        ):
            return None
        if min(volumes) > 0 and min(quotes) > 0:  # the usual chunk: a VWAP on every row
            vwaps = present = list(map(truediv, quotes, volumes))
        else:
            pairs = zip(quotes, volumes, strict=True)
            vwaps = [quote / volume if volume > 0 and quote > 0 else None for quote, volume in pairs]
            present = [vwap for vwap in vwaps if vwap is not None]
    except InvalidOperation:  # a text that is no number, or a NaN quote volume compared
        return None
    if present and not (min(present) >= PRICE_MIN and max(present) < PRICE_MAX):
        return None
    moments, stamps = _utc_times(millis)
    read, volumes = volumes, list(map(_volume_quantize, volumes))
    numbers = list(map(int, counts))
    # The rows' COPY lines, made here from the columns: a price spelt in plain digits is written as
    # the source spells it (the value Decimal read), not formatted again.
    prices = [
        text if known else number
        for text, number, known in zip(texts, (opens, highs, lows, closes), plain, strict=False)
    ]
    if not (plain[4] and all(map(eq, read, volumes))):
        volume_texts = volumes  # more places than the column keeps: written as stored
    counts = counts if "".join(counts).isascii() else numbers  # isdecimal() lets other scripts' digits in
    copied = copy_lines(stamps, [*prices, volume_texts, counts, vwaps, (NULL,) * len(moments)])
    return list(
        zip(moments, opens, highs, lows, closes, volumes, numbers, vwaps, repeat(None), lines, copied)
    )


def _candle_slow(row: Mapping, timeframe: str | None) -> tuple[dict | None, dict[str, list[str]]]:
    """Return the clean row or, value by value, what is wrong with it."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    moment = row.get("candle_time")
    try:
        clean["candle_time"] = moment if _is_utc(moment) else parse_timestamp(moment)[0]
    except ValueError as error:
        errors["candle_time"] = [str(error) if moment is not None else "required"]
    else:
        if timeframe and not _aligned(clean["candle_time"], timeframe):
            errors["candle_time"] = [f"{clean['candle_time'].isoformat()} is not aligned to {timeframe}"]
        elif clean["candle_time"] > datetime.now(UTC):
            # A candle opens at its candle_time: one from the future would become the "latest price".
            errors["candle_time"] = [f"{clean['candle_time'].isoformat()} is in the future"]
    for key in PRICE_KEYS:
        value = row.get(key)
        if value is None:
            errors[key] = ["required"]
            continue
        clean[key], error = _decimal(value, quantum=PRICE_QUANTUM, max_digits=38, positive=True)
        if error:
            errors[key] = [error]
    volume = row.get("volume")
    clean["volume"], error = (
        (Decimal(0), None)
        if volume is None
        else _decimal(volume, quantum=VOLUME_QUANTUM, max_digits=38, positive=False)
    )
    if error:
        errors["volume"] = [error]
    if not errors.keys() & set(PRICE_KEYS):
        _ohlc_check(clean, errors)
    _optional_parse(row, clean, errors)
    return (None if errors else clean), errors


def _is_utc(value) -> bool:
    return isinstance(value, datetime) and value.utcoffset() == timedelta(0)


def _ohlc_check(clean: dict, errors: dict) -> None:
    low, high = clean["low"], clean["high"]
    if high < low:
        errors["high"] = [f"{high} is below low {low}"]
        return
    for key in ("open", "close"):
        if clean[key] < low:
            errors.setdefault("low", []).append(f"{low} is above {key} {clean[key]}")
        if clean[key] > high:
            errors.setdefault("high", []).append(f"{high} is below {key} {clean[key]}")


def _optional_parse(row: Mapping, clean: dict, errors: dict) -> None:
    count = row.get("trade_count")
    if count in (None, ""):
        clean["trade_count"] = None
    else:
        try:
            clean["trade_count"] = int(count)
            if not 0 <= clean["trade_count"] <= INT_MAX:
                errors["trade_count"] = [f"must be between 0 and {INT_MAX}, not {count}"]
        except (TypeError, ValueError):
            errors["trade_count"] = [f"not a whole number: {count!r}"]
    for key, quantum, digits, positive in (
        ("vwap", PRICE_QUANTUM, 38, True),
        ("market_cap", CAP_QUANTUM, 30, False),
    ):
        value = row.get(key)
        if value in (None, ""):
            clean[key] = None
            continue
        clean[key], error = _decimal(value, quantum=quantum, max_digits=digits, positive=positive)
        if error:
            errors[key] = [error]


def candle_errors(row: Mapping, *, timeframe: str | None = None) -> dict[str, list[str]]:
    """Return field -> messages for everything wrong with one candle row (empty when it is good)."""
    return candle_parse(row, timeframe=timeframe)[1]
