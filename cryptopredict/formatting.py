"""Numbers and times as people read them: the admin, the templates and the titles use these.

- `number`: thousands separators, no trailing zeros, enough significant digits for tiny prices
  (97,457 / 5,397.93 / 0.00002854).
- `percent`: a value already in percent (12.5 -> "12.5%"), or a fraction with `fraction=True`.
- `multiple`: a ratio with an "x" (1.18x).
- `moment`: a 24-hour time with its zone ("2025-01-14 00:00 UTC"), in the active time zone (the
  user's `timezone`, set by UserTimezoneMiddleware) unless one is given.
"""

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

EMPTY = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def number(
    value, *, decimals: int = 2, significant: int = 4, signed: bool = False, empty: str = EMPTY
) -> str:
    """Return `value` with thousands separators and no trailing zeros.

    At most `decimals` decimals are shown, but never fewer than `significant` significant
    digits: 97457.0 -> "97,457", 5397.931 -> "5,397.93", 0.0000285412 -> "0.00002854".
    """
    amount = _decimal(value)
    if amount is None:
        return empty
    if amount.is_zero():
        return "0"
    exponent = math.floor(math.log10(abs(amount)))  # 97457 -> 4, 0.0000285 -> -5
    places = max(decimals, significant - 1 - exponent)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0") and not amount.is_zero():
        text = "0"
    if signed and rounded > 0:
        text = f"+{text}"
    return text


def percent(
    value, *, fraction: bool = False, decimals: int = 2, signed: bool = False, empty: str = EMPTY
) -> str:
    """Return `value` in percent with a % sign: 12.5 -> "12.5%"; 0.125 with fraction=True -> "12.5%"."""
    amount = _decimal(value)
    if amount is None:
        return empty
    if fraction:
        amount *= 100
    return f"{number(amount, decimals=decimals, significant=2, signed=signed)}%"


def multiple(value, *, decimals: int = 2, empty: str = EMPTY) -> str:
    """Return a ratio with an x: 1.1834 -> "1.18x"."""
    amount = _decimal(value)
    if amount is None:
        return empty
    return f"{number(amount, decimals=decimals, significant=2)}x"


def zone(name: str | None):
    """Return the ZoneInfo called `name`, or None when the name is empty or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def moment(value, tz=None, *, seconds: bool = False, empty: str = EMPTY) -> str:
    """Return a datetime as a 24-hour time with its zone: "2025-01-14 00:00 UTC".

    `tz` is a tzinfo or a zone name; by default the active time zone. A date is shown as a date.
    """
    if value is None:
        return empty
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(tz, str):
        tz = zone(tz)
    if timezone.is_aware(value):
        value = value.astimezone(tz or timezone.get_current_timezone())
    label = value.tzname() or ""
    text = value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {label}".strip()


def duration(value, *, empty: str = EMPTY) -> str:
    """Return a timedelta in its largest whole unit: "3 d", "5 h", "12 min", "40 s"."""
    if value is None:
        return empty
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{number(seconds // size)} {unit}"
    return f"{seconds} s"
