"""Alert rules, their firings, in-app notifications, channels and the delivery outbox.

A rule that fires writes an AlertFiring, one Notification per recipient (in-app) and one
NotificationDelivery per channel, in the transaction of the write that made it fire. Workers
send the deliveries after that commit (see services/delivery.py); the rows are the outbox, so
a lost task, a dead worker or a channel that is down loses nothing.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from cryptopredict.choices import Timeframe
from cryptopredict.models import TimestampedModel, choices_check

from .choices import (
    INDICATOR_KINDS,
    LEVEL_KINDS,
    PRICE_KINDS,
    SERIES_KINDS,
    ChannelKind,
    DeliveryStatus,
    RuleKind,
)

PRICE = {"max_digits": 38, "decimal_places": 18}


class NotificationChannel(TimestampedModel):
    """Where a user's alerts go besides the in-app list: an email address, a webhook or a Telegram chat."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels"
    )
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=100, blank=True, default="", db_default="")
    email = models.EmailField(blank=True, default="", db_default="")
    url = models.URLField(max_length=500, blank=True, default="", db_default="")
    # The webhook's HMAC key: kept in clear because every delivery is signed with it; never shown.
    secret = models.CharField(max_length=128, blank=True, default="", db_default="")
    chat_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    is_active = models.BooleanField(default=True, db_default=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the email confirmation token (the token itself is only in the mail).
    verification_digest = models.CharField(max_length=64, blank=True, default="", db_default="")
    last_error = models.TextField(blank=True, default="", db_default="")

    class Meta:
        db_table = "notification_channels"
        ordering = ["user", "id"]
        constraints = [
            choices_check("kind", ChannelKind, name="chk_channel_kind"),
            models.CheckConstraint(
                condition=~Q(kind=ChannelKind.WEBHOOK) | (~Q(url="") & ~Q(secret="")),
                name="chk_channel_webhook_target",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ChannelKind.EMAIL) | ~Q(email=""), name="chk_channel_email_target"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ChannelKind.TELEGRAM) | ~Q(chat_id=""), name="chk_channel_telegram_target"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.target}"

    @property
    def target(self) -> str:
        return {ChannelKind.EMAIL: self.email, ChannelKind.WEBHOOK: self.url}.get(self.kind, self.chat_id)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class AlertRule(TimestampedModel):
    """A condition on the data and who hears of it. Which fields count depends on `kind`:

    price_above / price_below: asset, timeframe, level (the candle's close);
    percent_change: asset, timeframe, window, percent (close against the close `window` earlier;
    a positive percent fires on a rise of at least that much, a negative one on a fall);
    indicator_above / indicator_below: asset, timeframe, indicator (a key of the candle's
    technical_indicators, e.g. rsi_14), level;
    new_signal: asset or watchlist (neither: any asset), signal_type (blank: any);
    regime_change: nothing (any change of the macro regime);
    job_failed: model_type (blank: any model);
    data_stale: asset, timeframe, max_age (no candle newer than that).

    A rule is armed until it fires; it fires once, then re-arms when its condition is false
    again. `user` is None for a system rule, set up by admins and heard by staff.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    name = models.CharField(max_length=100, blank=True, default="", db_default="")
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    asset = models.ForeignKey(
        "assets.Asset",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        db_index=False,  # idx_alert_rule_series leads with it
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.D1, db_default=Timeframe.D1
    )
    level = models.DecimalField(**PRICE, null=True, blank=True)
    indicator = models.CharField(max_length=30, blank=True, default="", db_default="")
    window = models.DurationField(null=True, blank=True)
    percent = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    watchlist = models.ForeignKey(
        "selection.Watchlist", on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    signal_type = models.CharField(max_length=4, blank=True, default="", db_default="")
    model_type = models.CharField(max_length=30, blank=True, default="", db_default="")
    max_age = models.DurationField(null=True, blank=True)
    # Set when the rule mirrors a watchlist item's alert_price_above/below (services.watchlist_rules_sync).
    watchlist_asset = models.ForeignKey(
        "selection.WatchlistAsset",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
    )
    channels = models.ManyToManyField(NotificationChannel, blank=True, related_name="rules")
    is_active = models.BooleanField(default=True, db_default=True)  # off: paused
    snoozed_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_armed = models.BooleanField(default=True, db_default=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    fire_count = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "alert_rules"
        ordering = ["id"]
        constraints = [
            choices_check("kind", RuleKind, name="chk_alert_rule_kind"),
            choices_check("timeframe", Timeframe, name="chk_alert_rule_timeframe"),
            models.CheckConstraint(
                condition=~Q(kind__in=SERIES_KINDS) | Q(asset__isnull=False), name="chk_alert_rule_asset"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=LEVEL_KINDS) | Q(level__isnull=False), name="chk_alert_rule_level"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=PRICE_KINDS) | Q(level__gt=0), name="chk_alert_rule_price_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=INDICATOR_KINDS) | ~Q(indicator=""), name="chk_alert_rule_indicator"
            ),
            models.CheckConstraint(
                condition=~Q(kind=RuleKind.PERCENT_CHANGE)
                | (
                    Q(window__isnull=False, window__gt=timedelta(0))
                    & Q(percent__isnull=False)
                    & ~Q(percent=0)
                ),
                name="chk_alert_rule_percent_change",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RuleKind.DATA_STALE) | Q(max_age__isnull=False, max_age__gt=timedelta(0)),
                name="chk_alert_rule_max_age",
            ),
            models.CheckConstraint(condition=Q(fire_count__gte=0), name="chk_alert_rule_fire_count"),
            models.UniqueConstraint(
                fields=["watchlist_asset", "kind"],
                condition=Q(watchlist_asset__isnull=False),
                name="unique_alert_rule_watchlist_threshold",
            ),
        ]
        indexes = [
            # The candle hook reads the rules of one series and kind.
            models.Index(fields=["asset", "timeframe", "kind"], name="idx_alert_rule_series"),
            models.Index(fields=["kind"], name="idx_alert_rule_kind"),
        ]

    def __str__(self):
        return self.name or f"{self.get_kind_display()} #{self.pk}"


class AlertFiring(models.Model):
    """One time a rule fired, for one event (a candle, a signal, a regime row, a job, a stale check)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="firings")
    # What fired it, e.g. "candle:1d:2025-01-01T00:00:00+00:00" or "signal:42": one firing per event.
    event_key = models.CharField(max_length=200)
    fired_at = models.DateTimeField(db_default=Now())
    observed_at = models.DateTimeField(null=True, blank=True)  # the time of the data that fired it
    value = models.DecimalField(**PRICE, null=True, blank=True)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        db_table = "alert_firings"
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="unique_alert_firing_event"),
        ]
        indexes = [models.Index(fields=["-fired_at"], name="idx_alert_firing_time")]

    def __str__(self):
        return self.title


class Notification(models.Model):
    """An in-app notification: the alert as the user reads it over the API."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    firing = models.ForeignKey(
        AlertFiring, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "firing"],
                condition=Q(firing__isnull=False),
                name="unique_notification_firing",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="idx_notification_user"),
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="idx_notification_unread",
            ),
        ]

    def __str__(self):
        return self.title


class NotificationDelivery(models.Model):
    """One firing to one channel: the outbox row a worker sends, retries, and marks delivered or dead."""

    firing = models.ForeignKey(AlertFiring, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_default="pending"
    )
    attempts = models.IntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    lease_until = models.DateTimeField(null=True, blank=True)  # a worker's claim while SENDING
    # The same key on every attempt: a receiver that saw it already answers 2xx and does nothing.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    last_error = models.TextField(blank=True, default="", db_default="")
    response_status = models.IntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "notification_deliveries"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(fields=["firing", "channel"], name="unique_delivery_firing_channel"),
            choices_check("status", DeliveryStatus, name="chk_delivery_status"),
            models.CheckConstraint(condition=Q(attempts__gte=0), name="chk_delivery_attempts"),
            models.CheckConstraint(
                condition=Q(status=DeliveryStatus.DELIVERED, delivered_at__isnull=False)
                | (~Q(status=DeliveryStatus.DELIVERED) & Q(delivered_at__isnull=True)),
                name="chk_delivery_delivered_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.SENDING) | Q(lease_until__isnull=False),
                name="chk_delivery_sending_lease",
            ),
        ]
        indexes = [
            # The dispatcher's scan: what is due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                name="idx_delivery_due",
            ),
            models.Index(fields=["status"], name="idx_delivery_status"),
        ]

    def __str__(self):
        return f"{self.firing} -> {self.channel}"
