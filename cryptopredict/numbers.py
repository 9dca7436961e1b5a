"""Numbers made fit for the columns that store them: decimal(max_digits, decimal_places) columns
and JSON columns. Every app asks these, so that one rule says what a column holds."""

import math
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np

SQLITE_READ = Context(prec=15)  # what Django's SQLite backend reads a decimal column's double with


class DecimalOverflow(ValueError):
    """A number that a decimal column cannot hold."""


def decimal_for_column(number: Decimal | int, *, max_digits: int, decimal_places: int) -> Decimal:
    """Return `number` as a decimal(max_digits, decimal_places) column stores it: rounded half away
    from zero (PostgreSQL's numeric rounding) to `decimal_places`.

    Raise DecimalOverflow, naming the number and the column type, when the column cannot hold it:
    not finite, or with more than max_digits - decimal_places integer digits once rounded
    (99.995 does not fit decimal(4, 2): it is stored as 100.00), or so close to that limit that
    the 15 digits Django reads back from SQLite's double reach it (a read would fail). The same
    answer on both databases.
    """
    column = f"decimal({max_digits},{decimal_places})"
    if isinstance(number, int):  # a whole number held in a decimal column (a default of 0, say)
        number = Decimal(number)
    if not number.is_finite():
        raise DecimalOverflow(f"{number} does not fit {column}: not a finite number")
    whole_digits = max_digits - decimal_places
    if number and number.adjusted() >= whole_digits:  # too large before any rounding
        raise DecimalOverflow(f"{number} does not fit {column}")
    step, room = Decimal(1).scaleb(-decimal_places), Context(prec=max_digits + 1)
    rounded = number.quantize(step, ROUND_HALF_UP, room)
    limit = 10**whole_digits
    if rounded.copy_abs() >= limit:  # copy_abs: abs() would round to 28 digits
        raise DecimalOverflow(f"{number} does not fit {column} (rounded it is {rounded})")
    read_back = SQLITE_READ.create_decimal_from_float(float(rounded))  # as Django reads SQLite
    if read_back.copy_abs() >= limit:
        raise DecimalOverflow(f"{number} does not fit {column} (SQLite would keep {read_back})")
    return rounded


def decimal_for_field(number: Decimal | int, field) -> Decimal:
    """Return `number` as the model DecimalField `field` stores it (see decimal_for_column)."""
    return decimal_for_column(number, max_digits=field.max_digits, decimal_places=field.decimal_places)


def decimal_fit(value, places: int, low=None, high=None, *, digits: int | None = None) -> Decimal | None:
    """Return a float from numpy/pandas rounded to `places` decimals (clamped to [low, high] when
    given) as a Decimal.

    None stands for what a column cannot hold: a missing or non-finite value, or, with `digits`
    (the column's max_digits), one too large for a decimal(digits, places) column. A ratio of two
    tiny numbers can explode; storing NULL beats a database error that loses the whole batch.
    """
    if value is None or not np.isfinite(float(value)):
        return None
    value = float(value)
    if low is not None:
        value = max(low, min(high, value))
    # Without `digits`, room for any float (at most 309 integer digits).
    max_digits = digits if digits is not None else 310 + places
    try:
        return decimal_for_column(Decimal(repr(value)), max_digits=max_digits, decimal_places=places)
    except DecimalOverflow:
        return None


def jsonable(value):
    """Return `value` fit for a JSON column: numpy scalars made Python, Decimals JSON numbers,
    tuples lists, keys text, and NaN / infinity None (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
