"""Reads of sectors worth naming: the relative-rotation graph of the sectors' market caps."""

from datetime import timedelta

import pandas as pd

from .models import Sector, SectorDaily

RRG_PERIOD = 14  # days of the RS average that RS-ratio compares against
RRG_LAG = 5  # days back that RS-momentum compares RS-ratio with
RRG_TAIL = 5  # points of each sector's tail


def sector_rotation(*, end=None, days: int) -> dict:
    """Return each sector's index line and its RS-ratio / RS-momentum tail over daily history.

    A sector's relative strength is its share of the sectors' total market cap that day (the
    daily sector view, SectorDaily, holds both). RS-ratio
    is 100 x RS over its mean of the last RRG_PERIOD days (above 100: gaining on its recent
    norm); RS-momentum is 100 x RS-ratio over RS-ratio RRG_LAG days before (above 100: still
    rising). The index line is the market cap rebased to 100 on the window's first day. Each
    value uses that day and earlier days only; the window reads RRG_PERIOD + RRG_LAG days more.
    """
    rows = SectorDaily.objects.all()
    if end is not None:
        rows = rows.filter(snapshot_time__lte=end)
    last = rows.order_by("-snapshot_time").values_list("snapshot_time", flat=True).first()
    if last is None:
        return {"time": [], "sectors": []}
    warmup = days + RRG_PERIOD + RRG_LAG
    frame = pd.DataFrame.from_records(
        rows.filter(snapshot_time__gt=last - timedelta(days=warmup)).values_list(
            "snapshot_time", "sector_id", "total_market_cap", "market_share"
        ),
        columns=["time", "sector", "cap", "share"],
    )
    caps = frame.pivot(index="time", columns="sector", values="cap").astype(float).sort_index()
    share = frame.pivot(index="time", columns="sector", values="share").astype(float).sort_index()
    ratio = 100 * share / share.rolling(RRG_PERIOD, min_periods=RRG_PERIOD).mean()
    momentum = 100 * ratio / ratio.shift(RRG_LAG)
    shown = caps.index[-days:]
    first = caps.loc[shown].bfill().iloc[0]
    index = 100 * caps.loc[shown] / first
    sectors = Sector.objects.filter(pk__in=caps.columns).order_by("sort_order", "name")

    def points(series):
        return [None if pd.isna(v) else round(float(v), 4) for v in series]

    out = []
    for sector in sectors:
        tail = pd.DataFrame({"ratio": ratio[sector.pk], "momentum": momentum[sector.pk]}).loc[shown].dropna()
        tail = tail.iloc[-RRG_TAIL:]
        out.append(
            {
                "id": sector.pk,
                "name": sector.name,
                "color": sector.color,
                "index": points(index[sector.pk]),
                "tail": [
                    [int(t.timestamp()), round(float(r), 4), round(float(m), 4)]
                    for t, r, m in tail.itertuples()
                ],
            }
        )
    return {"time": [int(t.timestamp()) for t in shown], "sectors": out, "period": RRG_PERIOD, "lag": RRG_LAG}
