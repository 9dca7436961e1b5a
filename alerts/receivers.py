"""Where the alerts app listens: the lower apps' signals, sent by their writing services (the
watchlist items' among them, whose thresholds it mirrors). Connected in AlertsConfig.ready().

Each receiver runs inside the transaction of the write that sent the signal (the services
open a savepoint of it), so a firing and its outbox rows commit, or roll back, with the data
that caused them.
"""

from ai.signals import job_failed
from assets.signals import candles_written, indicators_written
from macro.signals import regimes_created
from selection.signals import watchlist_item_saved
from trading.signals import signals_created

from . import services
from .choices import INDICATOR_KINDS, PRICE_KINDS, RuleKind


def on_candles_written(sender, *, asset_id, timeframe, first=None, last=None, **kwargs):
    services.series_evaluate(
        asset_id=asset_id, timeframe=timeframe, kinds=(*PRICE_KINDS, RuleKind.PERCENT_CHANGE)
    )


def on_indicators_written(sender, *, asset_id, timeframe, **kwargs):
    services.series_evaluate(asset_id=asset_id, timeframe=timeframe, kinds=INDICATOR_KINDS)


def on_signals_created(sender, *, signals, **kwargs):
    services.signals_evaluate(signals=signals)


def on_regimes_created(sender, *, analyses, **kwargs):
    if not analyses:
        return
    # Only the newest row of the batch is "now"; older ones are history a job filled in.
    newest = max(analyses, key=lambda analysis: analysis.analysis_time)
    services.regime_evaluate(analysis=newest)


def on_job_failed(sender, *, job, **kwargs):
    services.job_failure_evaluate(job=job)


def on_watchlist_item_saved(sender, *, item, **kwargs):
    services.watchlist_rules_sync(item=item)


def connect() -> None:
    candles_written.connect(on_candles_written, dispatch_uid="alerts.candles")
    indicators_written.connect(on_indicators_written, dispatch_uid="alerts.indicators")
    signals_created.connect(on_signals_created, dispatch_uid="alerts.signals")
    regimes_created.connect(on_regimes_created, dispatch_uid="alerts.regimes")
    job_failed.connect(on_job_failed, dispatch_uid="alerts.jobs")
    watchlist_item_saved.connect(on_watchlist_item_saved, dispatch_uid="alerts.watchlist")
