"""What the dashboard shows: data freshness, jobs, the latest regime and active signals."""

from datetime import timedelta
from math import inf

from django.utils import timezone

from ai.models import ModelPredictionJob, ModelTrainingJob
from assets.models import Asset, LatestCandle
from cryptopredict.choices import TIMEFRAME_DELTAS, JobStatus, Timeframe
from macro.models import AIRegimeAnalysis
from trading.choices import SignalStatus
from trading.models import AITradingSignal

FRESHNESS_ASSETS = 20


def data_freshness(*, now=None, limit: int = FRESHNESS_ASSETS) -> list[dict]:
    """Return the latest candle of each active asset in each timeframe, and whether it is stale.

    One query of the latest-candle view (a row per asset and timeframe), for the first `limit`
    active assets by market-cap rank, however many candles there are. A series is stale when
    its latest candle opened more than two periods before `now`, the period still open counted.
    """
    now = now or timezone.now()
    assets = Asset.objects.filter(is_active=True).order_by(*Asset._meta.ordering).values("pk")[:limit]
    latest = LatestCandle.objects.filter(asset__in=assets).select_related("asset")
    order = {timeframe: i for i, timeframe in enumerate(Timeframe.values)}
    rows = []
    # The assets' order (rank, nulls last, then symbol), then the timeframes', shortest first.
    for candle in sorted(
        latest, key=lambda c: (c.asset.market_cap_rank or inf, c.asset.symbol, order[c.timeframe])
    ):
        period = TIMEFRAME_DELTAS.get(candle.timeframe)
        age = now - candle.candle_time
        stale = period is not None and age > 2 * period
        rows.append(
            {
                "asset": candle.asset,
                "timeframe": candle.timeframe,
                "latest": candle.candle_time,
                "age": age,
                "stale": stale,
            }
        )
    return rows


def job_summary(*, now=None, failed_days: int = 7, limit: int = 5) -> dict:
    """Return the jobs running or queued now and those that failed in the last `failed_days` days."""
    now = now or timezone.now()
    since = now - timedelta(days=failed_days)
    summary = {"running": [], "failed": [], "pending": 0}
    for model in (ModelTrainingJob, ModelPredictionJob):
        jobs = model.objects.select_related("model")
        summary["running"] += list(jobs.filter(status=JobStatus.RUNNING).order_by("-started_at")[:limit])
        summary["failed"] += list(
            jobs.filter(status=JobStatus.FAILED, completed_at__gte=since).order_by("-completed_at")[:limit]
        )
        summary["pending"] += model.objects.filter(status=JobStatus.PENDING).count()
    summary["failed"].sort(key=lambda job: job.completed_at, reverse=True)
    return summary


def latest_regime():
    """Return the latest regime analysis (with its model), or None."""
    return AIRegimeAnalysis.objects.select_related("ai_model").order_by("-analysis_time").first()


def active_signals(*, now=None, limit: int = 10) -> list[AITradingSignal]:
    """Return the latest signals that are active and not expired."""
    now = now or timezone.now()
    signals = AITradingSignal.objects.filter(status=SignalStatus.ACTIVE, expires_at__gt=now)
    return list(signals.select_related("asset", "ai_model").order_by("-generated_at")[:limit])
