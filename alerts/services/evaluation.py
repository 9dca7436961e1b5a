"""Check the rules that watch the data which just changed, and fire those whose condition holds.

Called from the writing services' signals (see alerts/receivers.py), inside their transaction,
so that a firing commits with the candle, signal, regime row or job that caused it. Each check
reads the rules of one kind (or of kinds sharing a query) in one query, whatever their number;
the firings are then written in a constant number of queries (services/firing.py).

Threshold rules (prices, percent changes, indicators, staleness) fire when their condition
holds while they are armed, and re-arm when it no longer holds. Event rules (new signal,
regime change, failed job) fire once per event.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from alerts.choices import INDICATOR_KINDS, PRICE_KINDS, RuleKind
from alerts.models import AlertRule
from assets.models import INDICATOR_FIELDS, Asset, PriceData, indicators_of
from macro.models import AIRegimeAnalysis
from selection.models import WatchlistAsset
from trading.choices import SignalStatus

from .firing import Fire, firings_write


def rules_live(*, now: datetime | None = None) -> QuerySet[AlertRule]:
    """Return the rules that may fire now: active, not snoozed or expired, of a live owner (or the system)."""
    now = now or timezone.now()
    return AlertRule.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now),
        Q(user__isnull=True) | Q(user__deleted_at__isnull=True, user__is_active=True),
        is_active=True,
    )


def _locked(rules: QuerySet) -> QuerySet:
    # Two writers evaluating the same rules wait for each other, so a crossing fires once.
    return rules.select_for_update(of=("self",)).order_by("pk")


def _rearm(rules: list[AlertRule]) -> None:
    ids = [rule.pk for rule in rules]
    if ids:
        AlertRule.objects.filter(pk__in=ids).update(is_armed=True, updated_at=timezone.now())


def _threshold(rules_and_conditions, fire_of) -> tuple[list[Fire], list[AlertRule]]:
    """Split (rule, condition) pairs into fires (armed and true) and rules to re-arm (disarmed and false)."""
    fires, rearm = [], []
    for rule, holds in rules_and_conditions:
        if holds is None:  # the data to judge is missing (e.g. an indicator not computed yet)
            continue
        if holds and rule.is_armed:
            fires.append(fire_of(rule))
        elif not holds and not rule.is_armed:
            rearm.append(rule)
    return fires, rearm


def _number(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _candle_key(timeframe: str, candle_time: datetime) -> str:
    return f"candle:{timeframe}:{candle_time.isoformat()}"


def series_evaluate(*, asset_id: int, timeframe: str, kinds=None, now: datetime | None = None) -> int:
    """Check the rules on the newest candle of one series; return how many fired.

    `kinds` limits the check (the indicator hook checks indicator rules only). Only the newest
    candle of the series counts: an import of old history does not fire alerts about the past.
    A series no active rule watches costs one indexed query.
    """
    kinds = set(kinds or (*PRICE_KINDS, RuleKind.PERCENT_CHANGE, *INDICATOR_KINDS))
    watched = AlertRule.objects.filter(asset_id=asset_id, timeframe=timeframe, kind__in=kinds, is_active=True)
    if not watched.exists():
        return 0
    return _series_evaluate(asset_id=asset_id, timeframe=timeframe, kinds=kinds, now=now or timezone.now())


@dataclass
class _Newest:
    """The newest candle of a series and the live rules on it, as every kind of rule reads them."""

    timeframe: str
    at: datetime
    close: Decimal
    indicators: dict
    series: QuerySet
    rules: QuerySet
    now: datetime

    def fire(self, rule, title: str, value, **data) -> Fire:
        """Return the firing of `rule` on this candle."""
        return Fire(
            rule=rule,
            event_key=_candle_key(self.timeframe, self.at),
            title=title,
            observed_at=self.at,
            value=value,
            message=f"{title} at {self.at:%Y-%m-%d %H:%M} UTC ({self.timeframe}).",
            payload={
                "asset": rule.asset.symbol,
                "timeframe": self.timeframe,
                "candle_time": self.at.isoformat(),
                "close": str(self.close),
                **data,
            },
        )

    def write(self, pairs, firing) -> int:
        """Fire the rules of the (rule, holds) pairs that start to hold, re-arm the others; return
        how many fired."""
        fires, rearm = _threshold(pairs, firing)
        _rearm(rearm)
        return len(firings_write(fires, disarm=True, now=self.now))


@transaction.atomic
def _series_evaluate(*, asset_id: int, timeframe: str, kinds: set, now: datetime) -> int:
    series = PriceData.objects.series(asset_id, timeframe)
    latest = series.order_by("-candle_time").values("candle_time", "close_price", *INDICATOR_FIELDS).first()
    if latest is None:
        return 0
    newest = _Newest(
        timeframe=timeframe,
        at=latest["candle_time"],
        close=latest["close_price"],
        indicators=indicators_of(latest),
        series=series,
        rules=rules_live(now=now).filter(asset_id=asset_id, timeframe=timeframe).select_related("asset"),
        now=now,
    )
    fired = 0
    if kinds & set(PRICE_KINDS):
        fired += _price_rules_check(newest)
    if RuleKind.PERCENT_CHANGE in kinds:
        fired += _percent_rules_check(newest)
    if kinds & set(INDICATOR_KINDS):
        fired += _indicator_rules_check(newest)
    return fired


def _price_rules_check(newest: _Newest) -> int:
    close = newest.close
    price_rules = list(_locked(newest.rules.filter(kind__in=PRICE_KINDS)))
    pairs = [
        (rule, close >= rule.level if rule.kind == RuleKind.PRICE_ABOVE else close <= rule.level)
        for rule in price_rules
    ]
    word = {RuleKind.PRICE_ABOVE: "above", RuleKind.PRICE_BELOW: "below"}
    return newest.write(
        pairs,
        lambda rule: newest.fire(
            rule,
            f"{rule.asset.symbol} closed at {close.normalize():f}, "
            f"{word[rule.kind]} {rule.level.normalize():f}",
            close,
            level=str(rule.level),
        ),
    )


def _percent_rules_check(newest: _Newest) -> int:
    # The close exactly `window` before the newest candle, per rule, in the same query.
    earlier = ExpressionWrapper(
        Value(newest.at, output_field=DateTimeField()) - OuterRef("window"), output_field=DateTimeField()
    )
    reference = newest.series.filter(candle_time=earlier).values("close_price")[:1]
    percent_rules = list(
        _locked(newest.rules.filter(kind=RuleKind.PERCENT_CHANGE).annotate(reference=Subquery(reference)))
    )
    pairs, changes = [], {}
    for rule in percent_rules:
        if rule.reference is None:
            pairs.append((rule, None))
            continue
        change = (newest.close / rule.reference - 1) * 100
        changes[rule.pk] = change
        pairs.append((rule, change >= rule.percent if rule.percent > 0 else change <= rule.percent))
    return newest.write(
        pairs,
        lambda rule: newest.fire(
            rule,
            f"{rule.asset.symbol} moved {changes[rule.pk]:+.2f}% over {rule.window}",
            changes[rule.pk].quantize(Decimal("0.0001")),
            reference_close=str(rule.reference),
            window_seconds=int(rule.window.total_seconds()),
            percent=str(rule.percent),
        ),
    )


def _indicator_rules_check(newest: _Newest) -> int:
    indicator_rules = list(_locked(newest.rules.filter(kind__in=INDICATOR_KINDS)))
    values = {rule.pk: _number(newest.indicators.get(rule.indicator)) for rule in indicator_rules}
    pairs = []
    for rule in indicator_rules:
        value = values[rule.pk]
        above = rule.kind == RuleKind.INDICATOR_ABOVE
        pairs.append((rule, None if value is None else value >= rule.level if above else value <= rule.level))
    word = {RuleKind.INDICATOR_ABOVE: "above", RuleKind.INDICATOR_BELOW: "below"}
    return newest.write(
        pairs,
        lambda rule: newest.fire(
            rule,
            f"{rule.asset.symbol} {rule.indicator} {values[rule.pk].normalize():f} "
            f"{word[rule.kind]} {rule.level.normalize():f}",
            values[rule.pk],
            indicator=rule.indicator,
            level=str(rule.level),
        ),
    )


@transaction.atomic
def stale_evaluate(*, now: datetime | None = None) -> int:
    """Fire the data_stale rules whose series has no candle newer than their max_age; re-arm the
    ones whose series is fresh again. Return how many fired.

    Staleness is the absence of data, so this one runs on a timer (alerts.tasks.stale_check).
    """
    now = now or timezone.now()
    newest = PriceData.objects.series(OuterRef("asset_id"), OuterRef("timeframe"))
    newest = newest.order_by("-candle_time").values("candle_time")[:1]
    rules = rules_live(now=now).filter(kind=RuleKind.DATA_STALE).select_related("asset")
    rules = list(_locked(rules.annotate(newest=Subquery(newest))))
    pairs = [(rule, rule.newest is None or now - rule.newest > rule.max_age) for rule in rules]

    def fire(rule) -> Fire:
        symbol, newest_time = rule.asset.symbol, rule.newest
        age = "no candle at all" if newest_time is None else f"last candle {newest_time:%Y-%m-%d %H:%M} UTC"
        return Fire(
            rule=rule,
            event_key=f"stale:{rule.timeframe}:{newest_time.isoformat() if newest_time else 'none'}",
            title=f"{symbol} {rule.timeframe} data is stale",
            message=f"{age}; allowed age {rule.max_age}.",
            observed_at=newest_time,
            payload={
                "asset": symbol,
                "timeframe": rule.timeframe,
                "newest_candle": newest_time.isoformat() if newest_time else None,
                "max_age_seconds": int(rule.max_age.total_seconds()),
            },
        )

    fires, rearm = _threshold(pairs, fire)
    _rearm(rearm)
    return len(firings_write(fires, disarm=True, now=now))


@transaction.atomic
def signals_evaluate(*, signals, now: datetime | None = None) -> int:
    """Fire the new_signal rules matching any of `signals` (trading signals just written) that are
    still active; return how many fired. One query reads the rules, one the watchlists they name."""
    now = now or timezone.now()
    current = [s for s in signals if s.status == SignalStatus.ACTIVE and s.expires_at > now]
    if not current:
        return 0
    rules = list(_locked(rules_live(now=now).filter(kind=RuleKind.NEW_SIGNAL)))
    watchlists = {rule.watchlist_id for rule in rules if rule.watchlist_id}
    members: dict[int, set[int]] = {}
    if watchlists:
        for watchlist_id, asset_id in WatchlistAsset.objects.filter(watchlist_id__in=watchlists).values_list(
            "watchlist_id", "asset_id"
        ):
            members.setdefault(watchlist_id, set()).add(asset_id)
    symbols = dict(Asset.objects.filter(pk__in={s.asset_id for s in current}).values_list("pk", "symbol"))
    fires = []
    for signal in current:
        for rule in rules:
            if rule.asset_id and rule.asset_id != signal.asset_id:
                continue
            if rule.watchlist_id and signal.asset_id not in members.get(rule.watchlist_id, ()):
                continue
            if rule.signal_type and rule.signal_type != signal.signal_type:
                continue
            symbol = symbols[signal.asset_id]
            fires.append(
                Fire(
                    rule=rule,
                    event_key=f"signal:{signal.pk}",
                    observed_at=signal.generated_at,
                    value=signal.strength,
                    title=f"New {signal.signal_type} signal on {symbol} ({signal.timeframe})",
                    message=f"Strength {signal.strength}, entry {signal.entry_price}, "
                    f"target {signal.target_price}, "
                    f"stop {signal.stop_loss}; expires {signal.expires_at:%Y-%m-%d %H:%M} UTC.",
                    payload={
                        "signal_id": signal.pk,
                        "asset": symbol,
                        "signal_type": signal.signal_type,
                        "timeframe": signal.timeframe,
                        "strength": str(signal.strength),
                        "entry_price": None if signal.entry_price is None else str(signal.entry_price),
                        "target_price": None if signal.target_price is None else str(signal.target_price),
                        "stop_loss": None if signal.stop_loss is None else str(signal.stop_loss),
                        "expires_at": signal.expires_at.isoformat(),
                    },
                )
            )
    return len(firings_write(fires, disarm=False, now=now))


@transaction.atomic
def regime_evaluate(*, analysis, now: datetime | None = None) -> int:
    """Fire the regime_change rules when `analysis` (the newest regime row just written) changed the
    regime; return how many fired."""
    if not analysis.regime_changed:
        return 0
    newer = AIRegimeAnalysis.objects.filter(
        ai_model_id=analysis.ai_model_id, analysis_time__gt=analysis.analysis_time
    )
    if newer.exists():  # a job that filled in history: the regime of now is a later row's
        return 0
    now = now or timezone.now()
    rules = list(_locked(rules_live(now=now).filter(kind=RuleKind.REGIME_CHANGE)))
    title = f"Macro regime changed to {analysis.regime}" + (
        f" (from {analysis.previous_regime})" if analysis.previous_regime else ""
    )
    fires = [
        Fire(
            rule=rule,
            event_key=f"regime:{analysis.ai_model_id}:{analysis.analysis_time.isoformat()}",
            title=title,
            observed_at=analysis.analysis_time,
            message=analysis.summary or title,
            payload={
                "regime_analysis_id": analysis.pk,
                "regime": analysis.regime,
                "previous_regime": analysis.previous_regime,
                "ai_model_id": analysis.ai_model_id,
                "analysis_time": analysis.analysis_time.isoformat(),
            },
        )
        for rule in rules
    ]
    return len(firings_write(fires, disarm=False, now=now))


@transaction.atomic
def job_failure_evaluate(*, job, now: datetime | None = None) -> int:
    """Fire the job_failed rules that watch `job`'s model type (or every model); return how many fired."""
    now = now or timezone.now()
    model = job.model
    rules = list(
        _locked(
            rules_live(now=now)
            .filter(kind=RuleKind.JOB_FAILED)
            .filter(Q(model_type="") | Q(model_type=model.model_type))
        )
    )
    kind = job._meta.model_name
    error = (job.error_message or "").splitlines()[0] if job.error_message else ""
    title = f"{job._meta.verbose_name.capitalize()} {job.pk} of {model.name} failed"
    fires = [
        Fire(
            rule=rule,
            event_key=f"job:{kind}:{job.pk}:{job.attempts}",
            title=title,
            message=error,
            observed_at=job.completed_at,
            payload={
                "job": kind,
                "job_id": job.pk,
                "attempt": job.attempts,
                "model": model.name,
                "model_type": model.model_type,
                "error": error,
            },
        )
        for rule in rules
    ]
    return len(firings_write(fires, disarm=False, now=now))
