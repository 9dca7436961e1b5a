"""The chain that runs itself: beat starts `sync_candles`; each step starts the next only when it
changed something.

    sync_candles (ingest) -> compute_indicators (default) -> build_snapshots (default)
    -> run_predictions (ai) -> expire_signals (default) -> evaluate_alerts (default)

and, daily, `daily_maintenance` (ingest): the exact coverage recount and archiving. Every task is
idempotent under `acks_late` redelivery (syncs resume from the stored data, indicators and
snapshots only fill what is missing or changed, a prediction run is keyed by the sync that
started it), retries transient database errors, and has a time limit.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from assets.indicators import indicators_compute
from assets.models import Asset

from .clients.exchange import ExchangeClient
from .services.candles import candles_sync, synced_assets
from .services.states import coverage_refresh

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}
# Snapshots are built for these timeframes of the changed series (the models read daily snapshots).
SNAPSHOT_TIMEFRAMES = ("1d",)


def _earliest(series: list[list]) -> dict[str, str]:
    """Return timeframe -> the earliest changed candle time (ISO) over changed [asset, tf, time] series."""
    earliest: dict[str, str] = {}
    for _, timeframe, since in series:
        if timeframe not in earliest or parse_datetime(since) < parse_datetime(earliest[timeframe]):
            earliest[timeframe] = since
    return earliest


@shared_task(name="marketdata.sync_candles", soft_time_limit=1500, time_limit=1800, **RETRY)
def sync_candles(timeframe: str | None = None, exchange: str | None = None) -> list[str]:
    """Sync every asset with a market on `exchange` for `timeframe` (default: SYNC_TIMEFRAMES);
    start compute_indicators for the series that changed. Return one summary line per series."""
    exchange = exchange or settings.SYNC_EXCHANGE
    started = timezone.now().isoformat()
    changed, lines = [], []
    client = ExchangeClient(exchange)  # one client: the markets are loaded once for every series
    for tf in [timeframe] if timeframe else settings.SYNC_TIMEFRAMES:
        for asset in synced_assets(exchange=exchange):
            result = candles_sync(asset=asset, timeframe=tf, exchange=exchange, client=client)
            lines.append(result.summary())
            if result.changed:
                changed.append([asset.pk, tf, result.first_changed.isoformat()])
    if changed:
        compute_indicators.delay(changed, started)
    return lines


@shared_task(name="marketdata.compute_indicators", soft_time_limit=1500, time_limit=1800, **RETRY)
def compute_indicators(series: list[list], started: str) -> int:
    """Fill the indicators of the changed series; start build_snapshots when candles were written."""
    assets = Asset.objects.in_bulk({asset_id for asset_id, _, _ in series})
    written = sum(
        indicators_compute(asset=assets[asset_id], timeframe=timeframe)
        for asset_id, timeframe in {(a, tf) for a, tf, _ in series}
        if asset_id in assets
    )
    if written:
        build_snapshots.delay(_earliest(series), started)
    return written


@shared_task(name="marketdata.build_snapshots", soft_time_limit=1500, time_limit=1800, **RETRY)
def build_snapshots(periods: dict[str, str], started: str) -> int:
    """Rebuild the snapshots of the changed periods (timeframe -> since); start run_predictions
    when one was created or changed."""
    from macro.services.fields import MetricsError
    from macro.services.snapshots import snapshots_build

    changed = 0
    for timeframe, since in periods.items():
        if timeframe not in SNAPSHOT_TIMEFRAMES:
            continue
        try:
            counts = snapshots_build(timeframe=timeframe, since=parse_datetime(since))
        except MetricsError as exc:  # no BTC candles of that timeframe yet: nothing to build
            logger.info("build_snapshots %s: %s", timeframe, exc)
            continue
        changed += counts.created + counts.updated
    if changed:
        run_predictions.delay(started)
    return changed


@shared_task(name="marketdata.run_predictions", soft_time_limit=3000, time_limit=3600, **RETRY)
def run_predictions(started: str) -> int:
    """Run every active model on the new data (in this task, on the ai queue); start expire_signals
    when a model wrote something. Models that already ran since the sync `started` are not run
    again, so a redelivered task repeats nothing."""
    from ai.models import AIModel, ModelPredictionJob
    from ai.services import prediction_job_execute, prediction_job_queue

    since = parse_datetime(started)
    written = 0
    models = AIModel.objects.filter(is_active=True, deprecated_at__isnull=True).order_by("pk")
    for model in models:
        if ModelPredictionJob.objects.filter(model=model, created_at__gte=since).exists():
            continue
        job = prediction_job_queue(model=model, enqueue=False)
        job = prediction_job_execute(job_id=job.pk)
        if job is not None:
            written += job.predictions_count or 0
            if job.error_message:
                logger.warning("run_predictions: %s failed: %s", model, job.error_message)
    if written:
        expire_signals.delay(started)
    return written


@shared_task(name="marketdata.expire_signals", soft_time_limit=300, time_limit=600, **RETRY)
def expire_signals(started: str) -> int:
    """Expire the signals past their expiry; then evaluate the alerts on the new data."""
    from trading.services import signals_expire

    expired = signals_expire()
    evaluate_alerts.delay(started)
    return expired


@shared_task(name="marketdata.evaluate_alerts", soft_time_limit=600, time_limit=900, **RETRY)
def evaluate_alerts(started: str) -> int | None:
    """The alerts step, when the alerts app is installed: its rules on candles, indicators,
    signals and regimes fire from the writing services' signals inside the steps above; what no
    write announces - a series that stopped updating - is checked here (its stale_evaluate)."""
    if not apps.is_installed("alerts"):
        return None
    from importlib import import_module

    evaluate = getattr(import_module("alerts.services"), "stale_evaluate", None)
    if evaluate is None:
        logger.warning("evaluate_alerts: alerts.services has no stale_evaluate(); skipped")
        return None
    return evaluate()


@shared_task(name="marketdata.sync_assets", soft_time_limit=1500, time_limit=1800, **RETRY)
def sync_assets() -> str:
    """Daily: assets and market caps from CoinGecko."""
    from .services.assets import assets_sync

    report = assets_sync()
    for error in report.errors:
        logger.warning("sync_assets: %s", error)
    return report.summary()


@shared_task(name="marketdata.sync_metrics", soft_time_limit=1500, time_limit=1800, **RETRY)
def sync_metrics() -> list[str]:
    """Daily: Fear & Greed and the FRED series into the snapshots."""
    from .services.metrics import metrics_sync

    report = metrics_sync()
    for error in report.errors:
        logger.warning("sync_metrics: %s", error)
    return report.lines + report.notes + report.errors


@shared_task(name="marketdata.daily_maintenance", soft_time_limit=3000, time_limit=3600, **RETRY)
def daily_maintenance() -> dict:
    """Archive candles older than ARCHIVE_AFTER_DAYS (when set) and recount the coverage exactly."""
    from assets.services.archiving import candles_archive

    archived = 0
    if settings.ARCHIVE_AFTER_DAYS:
        archived = candles_archive(older_than=timedelta(days=settings.ARCHIVE_AFTER_DAYS))
    return {"archived": archived, "coverage_changed": coverage_refresh()}
