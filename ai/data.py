"""Read candles into pandas frames for the predictors of every layer (one query per call)."""

import math
from datetime import datetime

import numpy as np
import pandas as pd

from assets.models import PriceData

COLUMNS = {
    "close": "close_price",
    "high": "high_price",
    "low": "low_price",
    "volume": "volume",
    "market_cap": "market_cap",
}


def candle_frames(
    *, timeframe: str, asset_ids=None, end: datetime | None = None, fields=("close",)
) -> dict[str, pd.DataFrame]:
    """Return one frame per field (index candle_time, one float column per asset id, NaN where missing)."""
    candles = PriceData.objects.filter(timeframe=timeframe)
    if asset_ids is not None:
        candles = candles.filter(asset_id__in=list(asset_ids))
    if end is not None:
        candles = candles.filter(candle_time__lte=end)
    values = candles.order_by("candle_time").values_list(
        "asset_id", "candle_time", *(COLUMNS[f] for f in fields)
    )
    long = pd.DataFrame.from_records(list(values), columns=["asset_id", "candle_time", *fields])
    frames = {}
    for field in fields:
        wide = (
            long.pivot(index="candle_time", columns="asset_id", values=field)
            if not long.empty
            else pd.DataFrame()
        )
        frames[field] = wide.apply(pd.to_numeric, errors="coerce").astype(float)
    return frames


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
