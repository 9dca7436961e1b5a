from django.db import models


class RuleKind(models.TextChoices):
    PRICE_ABOVE = "price_above", "Price above"
    PRICE_BELOW = "price_below", "Price below"
    PERCENT_CHANGE = "percent_change", "Percent change over a window"
    INDICATOR_ABOVE = "indicator_above", "Indicator above"
    INDICATOR_BELOW = "indicator_below", "Indicator below"
    NEW_SIGNAL = "new_signal", "New trading signal"
    REGIME_CHANGE = "regime_change", "Macro regime change"
    JOB_FAILED = "job_failed", "Model job failed"
    DATA_STALE = "data_stale", "Data series stale"


# Kinds that watch one candle series (asset and timeframe) and cross a threshold.
SERIES_KINDS = (
    RuleKind.PRICE_ABOVE,
    RuleKind.PRICE_BELOW,
    RuleKind.PERCENT_CHANGE,
    RuleKind.INDICATOR_ABOVE,
    RuleKind.INDICATOR_BELOW,
    RuleKind.DATA_STALE,
)
PRICE_KINDS = (RuleKind.PRICE_ABOVE, RuleKind.PRICE_BELOW)
INDICATOR_KINDS = (RuleKind.INDICATOR_ABOVE, RuleKind.INDICATOR_BELOW)
LEVEL_KINDS = PRICE_KINDS + INDICATOR_KINDS


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    TELEGRAM = "telegram", "Telegram"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # due at next_attempt_at (a first try or a retry)
    SENDING = "sending", "Sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"  # gave up after the last attempt; retried from the admin
