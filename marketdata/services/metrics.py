"""Sync the macro metrics: Fear & Greed (alternative.me) and FRED series into MetricsSnapshot.

Values are merged through macro.services.metrics_merge, the rule import_metrics uses: a day
gets a value only where a daily snapshot or a BTC daily candle exists (the snapshot needs the
BTC price); other days are counted as skipped, not invented.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from macro.services.metrics_import import metrics_merge

from ..clients.fear_greed import FearGreed
from ..clients.fred import Fred
from ..clients.http import SourceError
from .states import state_failed, state_started, state_succeeded

# FRED series id -> MetricsSnapshot field. DTWEXBGS is the Fed's broad trade-weighted dollar
# index (FRED carries no ICE DXY); DGS10 the 10-year Treasury yield; VIXCLS the VIX close.
FRED_SERIES = {"SP500": "sp500", "DTWEXBGS": "dxy", "DGS10": "us_10y_yield", "VIXCLS": "vix_index"}
NO_SNAPSHOT = "no snapshot for"
REFETCH_DAYS = 30  # FRED revises recent values: each run asks again for the last month


@dataclass
class MetricsSyncReport:
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changed: int = 0


def _merge(source: str, name: str, records: list[tuple[int, dict]], report: MetricsSyncReport) -> None:
    counts = metrics_merge(keys=["snapshot_time", "timeframe", name], records=records)
    skipped = sum(1 for r in counts.rejected if r.reason().startswith(NO_SNAPSHOT))
    bad = [r for r in counts.rejected if not r.reason().startswith(NO_SNAPSHOT)]
    line = (
        f"{source}: {len(records)} values, {counts.inserted} snapshots created, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {skipped} days without a BTC snapshot or candle"
    )
    if bad:
        line += f", {len(bad)} rejected (first: value {bad[0].line}: {bad[0].reason()})"
    report.lines.append(line)
    report.changed += counts.inserted + counts.updated


def _fear_greed(client: FearGreed) -> list[tuple[int, dict]]:
    return [
        (
            n,
            {
                "snapshot_time": item.get("timestamp"),
                "timeframe": "1d",
                "fear_greed_index": item.get("value"),
            },
        )
        for n, item in enumerate(client.history(), start=1)
    ]


def _fred(client: Fred, series_id: str, name: str, state) -> list[tuple[int, dict]]:
    start = state.last_success_at.date() - timedelta(days=REFETCH_DAYS) if state.last_success_at else None
    return [
        (n, {"snapshot_time": item.get("date"), "timeframe": "1d", name: item.get("value")})
        for n, item in enumerate(client.observations(series_id, start), start=1)
        if item.get("value") not in (".", "", None)  # "." is FRED's "no observation" (a holiday)
    ]


def metrics_sync(*, fear_greed: FearGreed | None = None, fred: Fred | None = None) -> MetricsSyncReport:
    """Fetch Fear & Greed and the FRED series and merge them into the daily snapshots.

    Each source is its own SyncState ("fear_greed", "fred:SP500", ...); a failing source is
    reported and the others still run. Without FRED_API_KEY the FRED series are skipped with a note.
    """
    report = MetricsSyncReport()
    state = state_started(source="fear_greed")
    try:
        records = _fear_greed(fear_greed or FearGreed())
    except SourceError as exc:
        report.errors.append(str(exc))
        state_failed(state=state, error=str(exc))
    else:
        _merge("fear & greed", "fear_greed_index", records, report)
        state_succeeded(state=state)
    if not settings.FRED_API_KEY:
        report.notes.append(f"fred: FRED_API_KEY is not set; {', '.join(FRED_SERIES)} skipped")
        return report
    fred = fred or Fred()
    for series_id, name in FRED_SERIES.items():
        state = state_started(source=f"fred:{series_id}")
        try:
            records = _fred(fred, series_id, name, state)
        except SourceError as exc:
            report.errors.append(str(exc))
            state_failed(state=state, error=str(exc))
            continue
        _merge(f"fred {series_id}", name, records, report)
        state_succeeded(state=state)
    return report
