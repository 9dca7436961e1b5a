"""Values computed by numpy and pandas, made fit for JSON columns."""

import math

import numpy as np


def jsonable(value):
    """Return `value` with numpy scalars made Python and NaN / infinity made None (valid JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
