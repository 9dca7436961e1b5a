"""The alerts app's writes: rules, channels, evaluation of rules against new data, delivery of the outbox."""

from .channels import channel_confirm, channel_create, channel_verify_start
from .delivery import (
    backoff,
    deliveries_dispatch,
    deliveries_due,
    deliveries_send_due,
    delivery_attempt,
    delivery_retry,
)
from .evaluation import (
    job_failure_evaluate,
    regime_evaluate,
    rules_live,
    series_evaluate,
    signals_evaluate,
    stale_evaluate,
)
from .firing import Fire, firings_write
from .notifications import notification_read, notifications_read_all
from .retention import firings_prune
from .rules import RuleLimitReached, rule_check, rule_create, rule_limit, rule_update, watchlist_rules_sync
from .transport import SendError, signature

__all__ = [
    "Fire",
    "RuleLimitReached",
    "SendError",
    "backoff",
    "channel_confirm",
    "channel_create",
    "channel_verify_start",
    "deliveries_dispatch",
    "deliveries_due",
    "deliveries_send_due",
    "delivery_attempt",
    "delivery_retry",
    "firings_prune",
    "firings_write",
    "job_failure_evaluate",
    "notification_read",
    "notifications_read_all",
    "regime_evaluate",
    "rule_check",
    "rule_create",
    "rule_limit",
    "rule_update",
    "rules_live",
    "series_evaluate",
    "signals_evaluate",
    "signature",
    "stale_evaluate",
    "watchlist_rules_sync",
]
