"""Import a candle file: detect, validate, upsert, and report rejections and gaps."""

import gc
from collections.abc import Iterable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import connections, router

from cryptopredict import statistics as planner
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.imports import ImportResult
from cryptopredict.timeframes import next_time

from ..importers import ImportFormatError, read_candles
from ..models import Asset, PriceData
from ..selectors import candle_partitions
from .results import Progress, RejectLog
from .writing import BATCH_SIZE, candles_upsert


@dataclass
class Gap:
    start: datetime  # the first missing candle
    end: datetime  # the last missing candle
    missing: int


@dataclass(kw_only=True)
class ImportReport(ImportResult):
    path: str
    fmt: str
    timeframe: str | None
    unit: str | None
    rows_read: int = 0
    rejected: RejectLog = field(default_factory=RejectLog)  # counted; the first ones kept
    gaps: list[Gap] = field(default_factory=list)  # the first GAPS_KEPT
    gap_count: int = 0
    missing: int = 0  # candles missing in all the gaps
    first_time: datetime | None = None
    last_time: datetime | None = None
    price_points: bool = False  # one price a period (CoinGecko): no traded range, so no ATR
    indicators: int | None = None  # candles whose indicators changed; None when not computed


GAPS_KEPT = 1000


class _GapTracker:
    """Note the first and last candle times and the missing candles between them."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.step = TIMEFRAME_DELTAS.get(report.timeframe)

    def __call__(self, times: Iterable[datetime]) -> None:
        report, step = self.report, self.step
        first, last = report.first_time, report.last_time
        for moment in times:
            if last is None:
                first = last = moment
            elif moment > last:
                if (moment - last != step) if step else moment != next_time(last, report.timeframe):
                    self._gap(last, moment)
                last = moment
            elif moment < first:
                first = moment
        report.first_time, report.last_time = first, last

    def _gap(self, last: datetime, moment: datetime) -> None:
        start = next_time(last, self.report.timeframe)
        if self.step:
            self._add(Gap(start, moment - self.step, (moment - start) // self.step))
            return
        count, end = 0, start
        while next_time(end, self.report.timeframe) < moment:
            end, count = next_time(end, self.report.timeframe), count + 1
        self._add(Gap(start, end, count + 1))

    def _add(self, gap: Gap) -> None:
        # Counted all, kept the first: a file missing every other candle must not fill memory.
        report = self.report
        report.gap_count += 1
        report.missing += gap.missing
        if len(report.gaps) < GAPS_KEPT:
            report.gaps.append(gap)


class _PartitionStatistics:
    """Gather the statistics of the price_data partitions an import writes, once it has written
    BULK_ROWS candles (statistics_gather's rule).

    Only those partitions: `ANALYZE price_data` would analyse every partition of the table, the
    months the import did not touch too (PostgreSQL 15 has no ANALYZE ONLY for the parent's own
    statistics, which the daily partition task keeps: partitions.parent_statistics_refresh).
    A month's partition is analysed in the background (a connection of its own) as soon as a
    batch holds none of its candles (the file has moved past it), the rest at the end: the import
    waits for the last months only. Inside a transaction (a dry run) the batches are not
    committed, so another connection would see none of them: all at the end, on this one.
    Not partitioned (SQLite): the table, as statistics_gather does.
    """

    def __init__(self, *, background: bool = True):
        self.using = router.db_for_write(PriceData)
        connection = connections[self.using]
        self.partitioned = connection.vendor == "postgresql"
        background = background and self.partitioned and not connection.in_atomic_block
        self.analyzer = planner.BackgroundAnalyzer(using=self.using) if background else None
        self.rows = 0
        self.pending: set[datetime] = set()  # months written, not analysed yet

    def __call__(self, months: list[datetime], rows: int) -> None:
        left = self.pending.difference(months)
        if rows:
            self.rows += rows
            self.pending.update(months)
        if self.analyzer is not None and left and self.rows >= planner.BULK_ROWS:
            self.pending -= left
            for table in self._tables(left):
                self.analyzer.add(table)

    def _tables(self, months: set[datetime]) -> list[str]:
        """Return the partitions holding `months` (the DEFAULT one for a month without its own)."""
        partitions = candle_partitions(model=PriceData)
        names = {p.start: p.name for p in partitions}
        return sorted({names.get(month, names.get(None)) for month in months} - {None})

    def abandon(self) -> None:
        """Wait for the background analyses of a failed import (their errors are not its error)."""
        if self.analyzer is not None:
            with suppress(Exception):
                self.analyzer.close()

    def finish(self) -> None:
        """Wait for the background analyses, then analyse the months written since."""
        if self.analyzer is not None:
            self.analyzer.close()
        if not self.partitioned:
            planner.statistics_gather(PriceData, rows=self.rows)
        elif self.rows >= planner.BULK_ROWS and self.pending:
            planner.tables_analyze(self._tables(self.pending), using=self.using)


@contextmanager
def _gc_paused():
    """Pause the cycle collector: candle rows hold no cycles, and its passes over the millions of
    young objects of a big import cost a third of the parsing time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def candles_import(
    *,
    path: Path | str,
    asset: Asset,
    timeframe: str | None = None,
    fmt: str = "auto",
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    indicators: bool = True,
    rejects: Path | str | None = None,
) -> ImportReport:
    """Import a candle file for `asset`: detect its format, check the timeframe, upsert the good
    rows, reject the bad ones with their line, report the gaps.

    Price points (a CoinGecko export or market_chart) are stored as such. The indicators of the
    written candles and of the later ones are computed after the write unless `indicators` is
    False (a bulk load: compute_indicators does it later, from the series' watermark).

    Rejections are counted and written to `rejects` (CSV of line, reason) as they come, in the
    order met; the report keeps the first ones. Memory stays flat for any file.

    Raises ImportFormatError (and its TimeframeMismatch) when the file cannot be read as candles.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"no such file: {path}")
    candles = read_candles(path, fmt=fmt, timeframe=timeframe, chunks=True)
    report = ImportReport(
        path=str(path),
        fmt=candles.fmt,
        timeframe=candles.timeframe,
        unit=candles.unit,
        price_points=candles.source.points,
        rejected=RejectLog(rejects),
    )
    if progress is not None and candles.total:
        progress.total = candles.total

    # With indicators the refresh after the write fills the candles' indicator columns: their
    # statistics are gathered after it, at the end, not while the import writes.
    statistics = _PartitionStatistics(background=not indicators)
    try:
        if report.timeframe is None:  # an empty file
            list(candles.rows)
            return report
        with _gc_paused():
            result = candles_upsert(
                asset=asset,
                timeframe=report.timeframe,
                rows=candles.rows,
                batch_size=batch_size,
                progress=progress,
                on_batch=_GapTracker(report),
                read_ahead=True,
                price_points=report.price_points,
                indicators=indicators,
                rejected=report.rejected,
                partitions=True,
                on_written=statistics,
            )
    except BaseException:
        statistics.abandon()
        raise
    finally:
        candles.close()
        report.rejected.close()
    statistics.finish()
    report.inserted, report.updated, report.unchanged = result.inserted, result.updated, result.unchanged
    if indicators:
        report.indicators = result.indicators
    # Every row read was rejected (bad or repeated) or written, updated or left unchanged once.
    report.rows_read = result.inserted + result.updated + result.unchanged + len(report.rejected)
    return report
