"""Sync candles from an exchange: from the last stored closed candle up to now, page by page.

Each page is fetched whole, then written through the import's upsert service together with the
series' SyncState in one transaction: a kill between pages loses nothing, and a rerun resumes
from the last stored candle. Only closed candles are stored (the exchange's last, still open
candle is left for the next run). Missing candles inside the synced range are requested again
once; those the exchange still lacks are recorded as KnownGap rows and not requested again.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from assets.models import Asset, PriceData
from assets.services.writing import candles_upsert
from cryptopredict.timeframes import UnknownTimeframe, floor_time, next_time, timeframe_check

from ..clients.exchange import ExchangeClient
from ..clients.http import SourceError
from ..locks import series_lock
from ..models import KnownGap
from .states import state_failed, state_started, state_succeeded

logger = logging.getLogger(__name__)


class SyncError(ValueError):
    """A sync cannot start: unknown timeframe, an asset without a market id on the exchange."""


@dataclass
class Gap:
    start: datetime  # open time of the first missing candle
    end: datetime  # open time of the last missing candle
    missing: int


@dataclass
class SyncResult:
    source: str
    symbol: str
    timeframe: str
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    refilled: int = 0  # candles found when a gap was requested again
    new_known_gaps: list[Gap] = field(default_factory=list)
    first_changed: datetime | None = None  # the earliest candle of the pages that changed something
    last_candle: datetime | None = None
    error: str | None = None
    locked: bool = False  # another run holds the series: nothing was done

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        """Return the result on one line."""
        head = f"{self.source} {self.symbol} {self.timeframe}"
        if self.locked:
            return f"{head}: skipped, another run is syncing this series"
        text = (
            f"{head}: {self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"
            f" in {self.pages} pages"
        )
        if self.refilled:
            text += f", {self.refilled} refilled"
        if self.new_known_gaps:
            text += f", {sum(g.missing for g in self.new_known_gaps)} candles missing at the source"
        if self.rejected:
            text += f", {self.rejected} rejected"
        if self.last_candle:
            text += f"; last closed candle {self.last_candle:%Y-%m-%d %H:%M}"
        if self.error:
            text += f"; stopped: {self.error}"
        return text


def synced_assets(*, exchange: str, symbol: str | None = None):
    """Return the active assets that have a market id for `exchange` in external_ids."""
    assets = Asset.objects.filter(is_active=True, external_ids__has_key=exchange).order_by("symbol")
    if symbol:
        assets = assets.filter(symbol=symbol.strip().upper())
    return assets


def _missing(start: datetime, times: list[datetime], timeframe: str, until: datetime) -> list[Gap]:
    """Return the runs of candle times in [start, until) that `times` lacks."""
    present, gaps, run = set(times), [], None
    cursor = start
    while cursor < until:
        if cursor not in present:
            if run is None:
                run = Gap(cursor, cursor, 0)
            run.end, run.missing = cursor, run.missing + 1
        elif run is not None:
            gaps.append(run)
            run = None
        cursor = next_time(cursor, timeframe)
    if run is not None:
        gaps.append(run)
    return gaps


class _SeriesSync:
    """One run over one series; see candles_sync."""

    def __init__(self, *, client, asset, timeframe, market_id, state, result, now):
        self.client, self.asset, self.timeframe = client, asset, timeframe
        self.market_id, self.state, self.result = market_id, state, result
        self.open_from = floor_time(now, timeframe)  # the open candle: not stored
        self.limit = settings.SYNC_PAGE_LIMIT

    def closed_page(self, since: datetime) -> tuple[list[dict], bool]:
        """Fetch one page from `since`; return its closed candles in range and whether it was full."""
        rows = self.client.candles(self.market_id, self.timeframe, since, self.limit)
        self.result.pages += 1
        self.result.fetched += len(rows)
        closed = [r for r in rows if since <= r["candle_time"] < self.open_from]
        return sorted(closed, key=lambda r: r["candle_time"]), len(rows) >= self.limit

    def write(self, rows: list[dict]) -> None:
        """Upsert one page and move the SyncState on, in one transaction."""
        if not rows:
            return
        changed: list[datetime] = []
        with transaction.atomic():
            # Indicators are the chain's next step (compute_indicators, from the watermark the
            # upsert leaves), not a refresh after every page.
            upsert = candles_upsert(
                asset=self.asset,
                timeframe=self.timeframe,
                rows=rows,
                on_batch=lambda batch: changed.extend(batch),
                indicators=False,
            )
            first, last = rows[0]["candle_time"], rows[-1]["candle_time"]
            state = self.state
            state.first_candle_time = min(filter(None, (state.first_candle_time, first)))
            state.last_candle_time = max(filter(None, (state.last_candle_time, last)))
            state.candle_count += upsert.inserted
            state.save(update_fields=["first_candle_time", "last_candle_time", "candle_count", "updated_at"])
        result = self.result
        result.inserted += upsert.inserted
        result.updated += upsert.updated
        result.unchanged += upsert.unchanged
        result.rejected += len(upsert.rejected)
        if upsert.inserted or upsert.updated:
            earliest = min(changed) if changed else first
            result.first_changed = min(filter(None, (result.first_changed, earliest)))
        result.last_candle = max(filter(None, (result.last_candle, last)))
        if upsert.rejected:
            logger.warning(
                "%s %s %s: %d candles rejected, first: %s",
                self.client.source,
                self.asset.symbol,
                self.timeframe,
                len(upsert.rejected),
                upsert.rejected[0].reason(),
            )

    def run(self, start: datetime) -> None:
        cursor = start
        while cursor < self.open_from:
            rows, full = self.closed_page(cursor)
            if not rows:
                break  # nothing (closed) from here on: the exchange has no more yet
            times = [r["candle_time"] for r in rows]
            self.write(rows)
            # Refilled at once, so that a run killed later has not skipped this page's gaps.
            self.refill(_missing(cursor, times, self.timeframe, times[-1]))
            cursor = next_time(times[-1], self.timeframe)
            if not full:
                break

    def refill(self, gaps: list[Gap]) -> None:
        """Request each gap again once; record what the exchange still lacks as known gaps."""
        known = list(self.state.known_gaps.values_list("start", "end"))
        for gap in gaps:
            if any(start <= gap.start and gap.end <= end for start, end in known):
                continue
            found: list[datetime] = []
            cursor = gap.start
            while cursor <= gap.end:
                rows, _ = self.closed_page(cursor)
                rows = [r for r in rows if r["candle_time"] <= gap.end]
                if not rows:
                    break
                self.write(rows)
                found.extend(r["candle_time"] for r in rows)
                cursor = next_time(rows[-1]["candle_time"], self.timeframe)
            self.result.refilled += len(found)
            still = _missing(gap.start, sorted(found), self.timeframe, next_time(gap.end, self.timeframe))
            KnownGap.objects.bulk_create(
                [KnownGap(sync_state=self.state, start=g.start, end=g.end, missing=g.missing) for g in still],
                ignore_conflicts=True,
            )
            self.result.new_known_gaps.extend(still)


def _start(asset: Asset, timeframe: str, since: datetime | None, now: datetime) -> datetime:
    """Return the first candle time to fetch: `since`, else after the last stored candle, else
    SYNC_INITIAL_PERIODS periods back."""
    if since is not None:
        return floor_time(since, timeframe)
    last = PriceData.objects.series(asset, timeframe).aggregate(last=Max("candle_time"))["last"]
    if last is not None:
        return next_time(last, timeframe)
    start = floor_time(now, timeframe)
    for _ in range(settings.SYNC_INITIAL_PERIODS):
        start = floor_time(start - (next_time(start, timeframe) - start), timeframe)
    return start


def candles_sync(
    *,
    asset: Asset,
    timeframe: str,
    exchange: str = "binance",
    since: datetime | None = None,
    client: ExchangeClient | None = None,
) -> SyncResult:
    """Sync the closed `timeframe` candles of `asset` from `exchange` up to now; return what changed.

    The market is `asset.external_ids[exchange]` (e.g. "BTCUSDT"). A source failure does not
    raise: it ends the run (the pages before it are kept), is stored as the series' last error
    and returned in `result.error`. When another run holds the series' lock, nothing is done.
    """
    try:
        timeframe_check(timeframe)
    except UnknownTimeframe as exc:
        raise SyncError(str(exc)) from None
    market_id = (asset.external_ids or {}).get(exchange)
    if not market_id:
        raise SyncError(f"{asset.symbol} has no {exchange!r} market in external_ids")
    result = SyncResult(exchange, asset.symbol, timeframe)
    with series_lock(f"candles:{exchange}:{asset.pk}:{timeframe}") as held:
        if not held:
            result.locked = True
            return result
        state = state_started(source=exchange, asset=asset, timeframe=timeframe)
        now = timezone.now()
        try:
            client = client or ExchangeClient(exchange)
            _SeriesSync(
                client=client,
                asset=asset,
                timeframe=timeframe,
                market_id=market_id,
                state=state,
                result=result,
                now=now,
            ).run(_start(asset, timeframe, since, now))
        except SourceError as exc:
            result.error = str(exc)
            state_failed(state=state, error=result.error)
        else:
            state_succeeded(state=state)
    return result
