"""Sync assets from CoinGecko: market fields from /coins/markets, daily market caps from market_chart.

Each /coins/markets page is upserted as import_assets does (one transaction a page). The
daily market caps go onto the stored daily candles of the tracked assets (those the snapshots'
dominance figures sum), never inventing a candle: a day without a candle is counted, not written.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction

from assets.models import Asset
from assets.services.asset_import import assets_upsert
from assets.services.writing import candles_market_caps_set
from cryptopredict.timeframes import floor_time, parse_timestamp

from ..clients.coingecko import CoinGecko
from ..clients.http import SourceError
from .states import state_failed, state_started, state_succeeded


@dataclass
class AssetSyncReport:
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    caps_written: int = 0
    caps_without_candle: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"coingecko: {self.pages} pages, assets {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected; market caps on {self.caps_written} "
            f"daily candles ({self.caps_without_candle} days without a candle)"
        )


def _daily_caps(chart: dict) -> dict[datetime, object]:
    """Return day -> the market cap of the day's last point (as the CoinGecko importers bucket)."""
    caps: dict[datetime, tuple] = {}
    for point in chart.get("market_caps") or []:
        try:
            moment = parse_timestamp(point[0])[0]
        except (ValueError, TypeError, IndexError):
            continue
        day = floor_time(moment, "1d")
        if point[1] is not None and (day not in caps or moment >= caps[day][0]):
            caps[day] = (moment, point[1])
    return {day: value for day, (_, value) in caps.items()}


def assets_sync(*, pages: int | None = None, client: CoinGecko | None = None) -> AssetSyncReport:
    """Upsert the top `pages` (COINGECKO_MARKET_PAGES) pages of /coins/markets, then the last
    COINGECKO_CAP_DAYS daily market caps of the tracked assets with a CoinGecko id."""
    client = client or CoinGecko()
    report = AssetSyncReport()
    state = state_started(source="coingecko")
    try:
        for page in range(1, (pages or settings.COINGECKO_MARKET_PAGES) + 1):
            items = client.markets(page)
            if not items:
                break
            with transaction.atomic():
                result = assets_upsert(items=items)
            report.pages += 1
            report.created += result.inserted
            report.updated += result.updated
            report.unchanged += result.unchanged
            report.rejected += len(result.rejected)
        by_id = defaultdict(list)
        for asset in Asset.objects.tracked():
            coin = (asset.external_ids or {}).get("coingecko")
            if coin:
                by_id[coin].append(asset)
        for coin, assets in sorted(by_id.items()):
            caps = _daily_caps(client.market_chart(coin, settings.COINGECKO_CAP_DAYS))
            for asset in assets:
                written = candles_market_caps_set(asset=asset, timeframe="1d", caps=caps)
                report.caps_written += written
                report.caps_without_candle += len(caps) - written
    except SourceError as exc:
        report.errors.append(str(exc))
        state_failed(state=state, error=str(exc))
    else:
        state_succeeded(state=state)
    return report
