"""Floats from numpy/pandas computations, made fit for Decimal columns."""

from decimal import Decimal

import numpy as np


def decimal_fit(value, places: int, low=None, high=None, *, digits: int | None = None) -> Decimal | None:
    """Return `value` rounded to `places` decimals (clamped to [low, high] when given) as a Decimal.

    None stands for what a column cannot hold: a missing or non-finite value, or, with `digits`
    (the column's max_digits), one too large for a decimal(digits, places) column. A ratio of two
    tiny numbers can explode; storing NULL beats a database error that loses the whole batch.
    """
    if value is None or not np.isfinite(float(value)):
        return None
    value = float(value)
    if low is not None:
        value = max(low, min(high, value))
    number = Decimal(str(round(value, places)))
    if digits is not None and abs(number) >= Decimal(10) ** (digits - places):
        return None
    return number
