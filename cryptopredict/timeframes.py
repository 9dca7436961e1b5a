"""Time on the candle grid: the timeframe check, epoch and ISO 8601 parsing, candle open times,
timeframe lengths.

Used by the importers, the candle services, the snapshots and the API (every app that reads or
writes times of candles).
"""

import argparse
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .choices import TIMEFRAME_DELTAS, Timeframe

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WEEK_ANCHOR = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday: weekly candles open on Mondays
# The one refusal of a timeframe, as str.format template: `input` is the value given (DRF fills
# the same name in its invalid_choice messages, so the API says it in the same words).
UNKNOWN_TIMEFRAME = "unknown timeframe {input!r}; use one of " + ", ".join(Timeframe.values)


class UnknownTimeframe(ValueError):
    """A value that is none of the timeframes (Timeframe's values)."""


def timeframe_check(value) -> str:
    """Return `value` when it is a timeframe (1m ... 1M); raise UnknownTimeframe naming it otherwise."""
    if not isinstance(value, str) or value not in Timeframe.values:
        raise UnknownTimeframe(UNKNOWN_TIMEFRAME.format(input=value))
    return value


def timeframe_argument(value: str) -> str:
    """Return a command's timeframe option, refused (argparse's usage error) with the same message."""
    try:
        return timeframe_check(value)
    except UnknownTimeframe as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def epoch_to_datetime(value: int) -> tuple[datetime, str]:
    """Return the UTC datetime of an epoch integer and its unit, told from its magnitude."""
    size = abs(value)
    try:
        if size < 10**11:
            return EPOCH + timedelta(seconds=value), "s"
        if size < 10**14:
            return EPOCH + timedelta(milliseconds=value), "ms"
        if size < 10**17:
            return EPOCH + timedelta(microseconds=value), "us"
        if size < 10**20:
            return EPOCH + timedelta(microseconds=value // 1000), "ns"
    except OverflowError:
        pass
    raise ValueError(f"not a time: epoch value {value} is out of range")


def parse_timestamp(value) -> tuple[datetime, str]:
    """Return `value` (epoch s/ms/µs/ns, ISO 8601 text or datetime) as an aware UTC datetime and its unit."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return aware.astimezone(UTC), "datetime"
        except OverflowError:  # e.g. 0001-01-01T00:00+14:00 is in year 0 in UTC
            raise ValueError(f"{value.isoformat()} is outside the times that can be stored") from None
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int):
        return epoch_to_datetime(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise ValueError(f"not a time: {value!r}")
        if number == number.to_integral_value():
            return epoch_to_datetime(int(number))
        if abs(number) < 10**11:  # seconds with a fraction
            return EPOCH + timedelta(microseconds=int(number * 10**6)), "s"
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if (text[:1] in "+-" and text[1:].isdecimal()) or text.isdecimal():
            return epoch_to_datetime(int(text))
        try:
            return parse_timestamp(Decimal(text))
        except (InvalidOperation, ValueError):
            pass
        if text.endswith(" UTC"):
            text = text[:-4]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a time: {value!r}") from None
        return parse_timestamp(moment)[0], "iso"
    raise ValueError(f"not a time: {value!r}")


def floor_time(moment: datetime, timeframe: str) -> datetime:
    """Return the open time of the `timeframe` candle that contains `moment`."""
    if timeframe == Timeframe.MO1:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    anchor = WEEK_ANCHOR if timeframe == Timeframe.W1 else EPOCH
    return moment - (moment - anchor) % TIMEFRAME_DELTAS[timeframe]


def next_time(moment: datetime, timeframe: str) -> datetime:
    """Return the open time of the candle after the one opening at `moment`."""
    if timeframe == Timeframe.MO1:
        year, month = divmod(moment.month, 12)
        return moment.replace(year=moment.year + year, month=month + 1)
    return moment + TIMEFRAME_DELTAS[timeframe]


def timeframe_delta(timeframe: str) -> timedelta:
    """Return the (average, for a month) length of a timeframe."""
    return TIMEFRAME_DELTAS.get(timeframe, timedelta(days=30))


def describe_gap(gap: timedelta) -> str:
    """Return a spacing as a person reads it: 1m, 5m, 1d, 1h30m, 45s..."""
    for tf, delta in TIMEFRAME_DELTAS.items():
        if gap == delta:
            return tf.value
    seconds = int(gap.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or f"{gap.total_seconds()}s"
