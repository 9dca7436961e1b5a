"""Sector indices built from constituent candles and SectorMapping weights, and SectorHistory rows.

A sector's market cap at t is the sum over its assets of market cap x mapping weight / 100. A
candle without a market cap falls back on close x the asset's circulating supply, then on the
close alone (a price-weighted fallback, so an index still exists). The sector index chains
cap-weighted daily returns: r_s(t) = sum_a W_a(t-1) r_a(t) / sum_a W_a(t-1), so an asset that
starts trading later joins the index without a jump. The market is every tracked asset.

A sector's volume is in USD. The candles of a USD-quoted asset carry their volume in USD
already (CoinGecko's total_volume, the source of the USD series), so it is summed as it is;
multiplying it by the price again inflated sector volumes about 1e5 times. A pair quoted in
another asset (ETHBTC) carries base-unit volume (Binance): volume x close is its volume in the
quote asset, converted to USD at the quote asset's USD close of the same period.
"""

from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Sum

from assets.models import Asset
from assets.selectors import candle_frames
from cryptopredict.aggregates import aggregates_refresh_soon
from cryptopredict.numbers import decimal_fit

from .models import Sector, SectorDaily, SectorHistory, SectorMapping

MAX_TOTAL_WEIGHT = Decimal(100)
USD_QUOTES = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI"})


def sector_mapping_weight_error(*, asset, weight, mapping_id: int | None = None) -> str | None:
    """Return why `weight` would push the asset's sector weights past 100, or None when it fits.

    The rule spans rows, so no CHECK constraint can hold it; the API and the admin ask here.
    """
    others = SectorMapping.objects.filter(asset=asset).exclude(pk=mapping_id)
    total = (others.aggregate(total=Sum("weight"))["total"] or 0) + Decimal(weight)
    if total > MAX_TOTAL_WEIGHT:
        return f"The asset's sector weights would sum to {total}; at most {MAX_TOTAL_WEIGHT} is allowed."
    return None


def sector_weights() -> dict[int, dict[int, float]]:
    """Return {sector id: {asset id: weight as a fraction}} for the active sectors."""
    weights: dict[int, dict[int, float]] = {}
    mappings = SectorMapping.objects.filter(sector__is_active=True).values_list(
        "sector_id", "asset_id", "weight"
    )
    for sector_id, asset_id, weight in mappings:
        weights.setdefault(sector_id, {})[asset_id] = float(weight) / 100
    return weights


def market_frames(*, timeframe: str, end=None) -> dict[str, pd.DataFrame]:
    """Return open, close, market cap (with fallbacks) and volume frames of every asset with candles."""
    frames = candle_frames(timeframe=timeframe, end=end, fields=("open", "close", "market_cap", "volume"))
    close, caps = frames["close"], frames["market_cap"]
    if close.empty:
        return frames
    supplies = dict(Asset.objects.filter(pk__in=list(close.columns)).values_list("pk", "circulating_supply"))
    for asset_id in close.columns:
        supply = supplies.get(asset_id)
        fallback = close[asset_id] * float(supply) if supply else close[asset_id]
        caps[asset_id] = caps[asset_id].where(caps[asset_id] > 0, fallback)
    frames["market_cap"] = caps.where(close.notna())
    return frames


def volume_usd_frame(close: pd.DataFrame, volume: pd.DataFrame) -> pd.DataFrame:
    """Return each asset's candle volume in USD (see the module docstring); NaN where unknown."""
    assets = Asset.objects.filter(pk__in=list(close.columns)).values_list("pk", "quote_currency")
    quotes = {pk: (quote or "USD").upper() for pk, quote in assets}
    usd_assets = dict(
        Asset.objects.filter(
            quote_currency__in=USD_QUOTES, symbol__in=set(quotes.values()) - USD_QUOTES
        ).values_list("symbol", "pk")
    )
    columns = {}
    for asset_id in close.columns:
        quote = quotes.get(asset_id, "USD")
        if quote in USD_QUOTES:
            columns[asset_id] = volume[asset_id]
        elif usd_assets.get(quote) in close.columns:
            columns[asset_id] = volume[asset_id] * close[asset_id] * close[usd_assets[quote]]
        else:
            columns[asset_id] = pd.Series(np.nan, index=close.index)
    return pd.DataFrame(columns, index=close.index)


def chained_index(returns: pd.DataFrame, weights_before: pd.DataFrame) -> pd.Series:
    """Return an index (starting at 1) of the weighted returns, weights taken the period before."""
    usable = returns.notna() & weights_before.notna() & (weights_before > 0)
    weighted = (returns.where(usable, 0) * weights_before.where(usable, 0)).sum(axis=1)
    total = weights_before.where(usable, 0).sum(axis=1)
    period = (weighted / total.replace(0, np.nan)).fillna(0)
    return (1 + period).cumprod()


def sector_indices(close: pd.DataFrame, caps: pd.DataFrame, weights: dict[int, dict[int, float]]) -> dict:
    """Return sector caps, sector indices, the market cap and the market index (pure)."""
    returns = close / close.shift(1) - 1
    caps_before = caps.shift(1)
    sector_caps, sector_index = {}, {}
    for sector_id, members in weights.items():
        columns = [a for a in members if a in close.columns]
        if not columns:
            continue
        scale = pd.Series({a: members[a] for a in columns})
        weighted_caps = caps[columns] * scale
        sector_caps[sector_id] = weighted_caps.sum(axis=1, min_count=1)
        # Before any constituent trades the sector has no index (not a flat one).
        listed = close[columns].notna().any(axis=1)
        sector_index[sector_id] = chained_index(returns[columns], caps_before[columns] * scale).where(listed)
    return {
        "sector_caps": pd.DataFrame(sector_caps, index=close.index),
        "sector_index": pd.DataFrame(sector_index, index=close.index),
        "market_cap": caps.sum(axis=1, min_count=1),
        "market_index": chained_index(returns, caps_before),
    }


@transaction.atomic
def sector_history_build(*, timeframe: str = "1d", since=None) -> int:
    """Upsert SectorHistory rows (caps, volume, 24h change, dominance, top performers); return the count."""
    weights = sector_weights()
    frames = market_frames(timeframe=timeframe)
    close = frames["close"]
    if close.empty or not weights:
        return 0
    indices = sector_indices(close, frames["market_cap"], weights)
    volume_usd = volume_usd_frame(close, frames["volume"])
    change = close / close.shift(1) - 1
    symbols = dict(Asset.objects.filter(pk__in=list(close.columns)).values_list("pk", "symbol"))
    keep = close.index if since is None else close.index[close.index >= since]
    rows = []
    for sector_id, sector_cap in indices["sector_caps"].items():
        members = [a for a in weights[sector_id] if a in close.columns]
        scale = pd.Series({a: weights[sector_id][a] for a in members})
        figures = pd.DataFrame(
            {
                "cap": sector_cap,
                "volume": (volume_usd[members] * scale).sum(axis=1, min_count=1),
                "cap_change": (sector_cap / sector_cap.shift(1) - 1) * 100,
                "dominance": (sector_cap / indices["market_cap"] * 100).clip(0, 100),
                "avg_change": change[members].mean(axis=1) * 100,
                "count": close[members].notna().sum(axis=1),
            }
        ).loc[keep]
        changes = change[members].loc[keep].to_numpy()
        # Plain dicts: a pandas row per day cost most of the build.
        for time, row, day in zip(figures.index, figures.to_dict("records"), changes, strict=True):
            if not np.isfinite(row["cap"]):
                continue
            best = sorted(
                ((v, a) for a, v in zip(members, day, strict=True) if np.isfinite(v)), reverse=True
            )[:3]
            rows.append(
                SectorHistory(
                    sector_id=sector_id,
                    snapshot_time=time,
                    timeframe=timeframe,
                    total_market_cap=decimal_fit(row["cap"], 2, digits=30),
                    total_volume_24h=decimal_fit(row["volume"], 2, digits=30),
                    market_cap_change_24h=decimal_fit(row["cap_change"], 4, digits=10),
                    dominance=decimal_fit(row["dominance"], 3, digits=6),
                    avg_price_change_24h=decimal_fit(row["avg_change"], 4, digits=10),
                    asset_count=int(row["count"]),
                    top_performers=[
                        {"asset": int(a), "symbol": symbols.get(a), "change_pct": round(float(v) * 100, 4)}
                        for v, a in best
                    ],
                )
            )
    SectorHistory.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["sector", "timeframe", "snapshot_time"],
        update_fields=[
            "total_market_cap",
            "total_volume_24h",
            "market_cap_change_24h",
            "dominance",
            "avg_price_change_24h",
            "asset_count",
            "top_performers",
        ],
    )
    if rows:
        aggregates_refresh_soon(views=[SectorDaily.VIEW])
    latest = {row.sector_id: row for row in rows if row.snapshot_time == close.index[-1]}
    for sector_id, row in latest.items():
        Sector.objects.filter(pk=sector_id).update(
            total_market_cap=row.total_market_cap, total_volume_24h=row.total_volume_24h
        )
    return len(rows)
