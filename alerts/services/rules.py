"""Alert rules: create and change them within the owner's plan, and mirror watchlist thresholds."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ai.choices import ModelType
from alerts.choices import INDICATOR_KINDS, LEVEL_KINDS, PRICE_KINDS, SERIES_KINDS, RuleKind
from alerts.models import AlertRule
from assets.indicators import INDICATOR_KEYS
from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.timeframes import UnknownTimeframe, timeframe_check
from trading.choices import SignalType
from users.choices import SubscriptionPlan

# The indicators assets.indicators stores on each candle (one column each).
INDICATORS = INDICATOR_KEYS
# Which fields each kind reads (besides name, channels and the pause/snooze/expiry switches).
KIND_FIELDS = {
    RuleKind.PRICE_ABOVE: {"asset", "timeframe", "level"},
    RuleKind.PRICE_BELOW: {"asset", "timeframe", "level"},
    RuleKind.PERCENT_CHANGE: {"asset", "timeframe", "window", "percent"},
    RuleKind.INDICATOR_ABOVE: {"asset", "timeframe", "indicator", "level"},
    RuleKind.INDICATOR_BELOW: {"asset", "timeframe", "indicator", "level"},
    RuleKind.NEW_SIGNAL: {"asset", "watchlist", "signal_type"},
    RuleKind.REGIME_CHANGE: set(),
    RuleKind.JOB_FAILED: {"model_type"},
    RuleKind.DATA_STALE: {"asset", "timeframe", "max_age"},
}
CONDITION_FIELDS = {
    "kind",
    "asset",
    "timeframe",
    "level",
    "indicator",
    "window",
    "percent",
    "watchlist",
    "signal_type",
    "model_type",
    "max_age",
}
EMPTY = {
    "level": None,
    "indicator": "",
    "window": None,
    "percent": None,
    "watchlist": None,
    "signal_type": "",
    "model_type": "",
    "max_age": None,
}


class RuleLimitReached(Exception):
    """The owner's subscription plan allows no more rules."""


def plan_of(user) -> str:
    """Return the subscription plan in force for `user` (an expired plan counts as free)."""
    plan = user.subscription_plan or SubscriptionPlan.FREE
    if user.subscription_expires_at is not None and user.subscription_expires_at <= timezone.now():
        plan = SubscriptionPlan.FREE
    return plan


def rule_limit(user) -> int:
    """Return how many alert rules `user`'s plan in force allows."""
    limits = settings.ALERT_RULE_LIMITS
    return limits.get(plan_of(user), limits[SubscriptionPlan.FREE])


def rule_check(values: dict) -> dict:
    """Return `values` (a whole rule: kind and its fields) cleaned for its kind, or raise a
    ValidationError naming each field at fault. Fields the kind does not read are cleared."""
    kind = values.get("kind")
    if kind not in RuleKind.values:
        raise ValidationError({"kind": f"Unknown rule kind {kind!r}; one of {', '.join(RuleKind.values)}."})
    wanted = KIND_FIELDS[kind]
    errors: dict[str, str] = {}
    given = {name for name in CONDITION_FIELDS - {"kind", "timeframe"} if values.get(name) not in (None, "")}
    for name in sorted(given - wanted):
        errors[name] = f"A {kind} rule has no {name}."
    clean = {**values, **{name: EMPTY[name] for name in EMPTY if name not in wanted}}
    if kind in SERIES_KINDS and values.get("asset") is None:
        errors["asset"] = f"A {kind} rule needs an asset."
    if kind not in SERIES_KINDS and kind != RuleKind.NEW_SIGNAL:
        clean["asset"] = None
    timeframe = values.get("timeframe") or Timeframe.D1
    try:
        timeframe_check(timeframe)
    except UnknownTimeframe as exc:
        errors["timeframe"] = str(exc)
    clean["timeframe"] = timeframe
    level = values.get("level")
    if kind in LEVEL_KINDS:
        if level is None:
            errors["level"] = f"A {kind} rule needs a level."
        elif kind in PRICE_KINDS and Decimal(level) <= 0:
            errors["level"] = "A price level must be greater than 0."
    if kind in INDICATOR_KINDS and values.get("indicator") not in INDICATORS:
        errors["indicator"] = (
            f"Unknown indicator {values.get('indicator')!r}; one of {', '.join(INDICATORS)}."
        )
    if kind == RuleKind.PERCENT_CHANGE:
        _check_window(values.get("window"), timeframe, errors)
        percent = values.get("percent")
        if percent is None or Decimal(percent) == 0:
            errors["percent"] = (
                "Give a percent other than 0 (positive: a rise of at least that; negative: a fall)."
            )
    if kind == RuleKind.DATA_STALE:
        max_age = values.get("max_age")
        if max_age is None or max_age <= timedelta(0):
            errors["max_age"] = "Give how old the newest candle may get, e.g. PT2H."
    if kind == RuleKind.NEW_SIGNAL:
        if values.get("asset") is not None and values.get("watchlist") is not None:
            errors["watchlist"] = "Watch an asset or a watchlist, not both."
        if values.get("signal_type") and values["signal_type"] not in SignalType.values:
            errors["signal_type"] = f"Unknown signal type; one of {', '.join(SignalType.values)}."
    if (
        kind == RuleKind.JOB_FAILED
        and values.get("model_type")
        and values["model_type"] not in ModelType.values
    ):
        errors["model_type"] = f"Unknown model type; one of {', '.join(ModelType.values)}."
    if errors:
        raise ValidationError(errors)
    return clean


def _check_window(window, timeframe: str, errors: dict) -> None:
    step = TIMEFRAME_DELTAS.get(timeframe)
    if step is None:
        errors["timeframe"] = "Percent changes need a fixed-length timeframe (not 1M)."
    elif window is None or window <= timedelta(0):
        errors["window"] = "Give the window to compare over, e.g. P1D."
    elif window % step:
        errors["window"] = f"The window must be a whole number of {timeframe} candles."


def _check_channels(user, channels) -> None:
    foreign = [channel.pk for channel in channels if user is None or channel.user_id != user.pk]
    if foreign:
        raise ValidationError({"channels": f"Not your channels: {foreign}."})


def rule_create(*, user, channels=(), **values) -> AlertRule:
    """Create a rule of `user` (None: a system rule) within the plan's limit.

    Raise ValidationError naming the field at fault, RuleLimitReached beyond the limit.
    """
    clean = rule_check(values)
    channels = list(channels)
    if user is not None:
        _check_channels(user, channels)
    with transaction.atomic():
        if user is not None:
            # Lock the owner (read fresh) so that two concurrent creations cannot both pass the count.
            owner = type(user).objects.select_for_update().get(pk=user.pk)
            limit = rule_limit(owner)
            if AlertRule.objects.filter(user=owner).count() >= limit:
                raise RuleLimitReached(
                    f"Your {plan_of(owner)} plan allows {limit} alert rules; delete one or upgrade the plan."
                )
        rule = AlertRule.objects.create(user=user, **clean)
        if channels:
            rule.channels.set(channels)
    return rule


def rule_update(*, rule: AlertRule, channels=None, **values) -> AlertRule:
    """Change a rule; a changed condition re-arms it. Raise ValidationError naming the field at fault."""
    condition = {name: getattr(rule, name) for name in CONDITION_FIELDS}
    switches = {
        name: values.pop(name)
        for name in ("name", "is_active", "snoozed_until", "expires_at")
        if name in values
    }
    changed = {name: value for name, value in values.items() if name in CONDITION_FIELDS}
    if rule.watchlist_asset_id and changed:
        raise ValidationError(
            {next(iter(changed)): "This rule mirrors a watchlist item: change the item instead."}
        )
    clean = rule_check({**condition, **changed}) if changed else {}
    if channels is not None:
        _check_channels(rule.user, channels)
    with transaction.atomic():
        for name, value in {**clean, **switches}.items():
            setattr(rule, name, value)
        if any(clean.get(name, condition[name]) != condition[name] for name in CONDITION_FIELDS):
            rule.is_armed = True
        rule.save()
        if channels is not None:
            rule.channels.set(channels)
    return rule


def watchlist_rules_sync(*, item) -> None:
    """Mirror a watchlist item's alert_price_above / alert_price_below as price rules of the
    watchlist's owner: created, moved or deleted to match (in-app only until channels are added).

    The two columns stay the way to set a threshold on a watchlist item (the ERD's); the rule
    is how it fires. A deleted item's rules go with it (ON DELETE CASCADE).
    """
    owner_id = item.watchlist.user_id
    existing = {rule.kind: rule for rule in AlertRule.objects.filter(watchlist_asset=item)}
    for kind, level in (
        (RuleKind.PRICE_ABOVE, item.alert_price_above),
        (RuleKind.PRICE_BELOW, item.alert_price_below),
    ):
        rule = existing.get(kind)
        if level is None:
            if rule is not None:
                rule.delete()
            continue
        if rule is None:
            AlertRule.objects.create(
                user_id=owner_id,
                kind=kind,
                asset_id=item.asset_id,
                timeframe=Timeframe.D1,
                level=level,
                watchlist_asset=item,
                name=f"{item.watchlist.name}: {item.asset} {kind.label.lower()} {level}",
            )
        elif rule.level != level:
            rule.level, rule.is_armed = level, True
            rule.save(update_fields=["level", "is_armed", "updated_at"])
