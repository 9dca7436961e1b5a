"""Admins see every rule, firing and delivery; dead deliveries are retried from here."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cryptopredict.admin import BaseAdmin, BaseInline, ConstraintForm, ReadOnlyAdmin

from . import services
from .choices import DeliveryStatus
from .models import AlertFiring, AlertRule, Notification, NotificationChannel, NotificationDelivery
from .services.rules import CONDITION_FIELDS


class AlertRuleForm(ConstraintForm):
    """The rule's fields checked for its kind by the service, each error on its field."""

    class Meta:
        model = AlertRule
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned.get(name) for name in CONDITION_FIELDS}
        try:
            clean = services.rule_check(values)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
            return cleaned
        cleaned.update({name: clean[name] for name in CONDITION_FIELDS})
        if self.instance.pk and any(
            cleaned[name] != getattr(self.instance, name) for name in CONDITION_FIELDS
        ):
            self.instance.is_armed = True  # a changed condition starts over
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(BaseAdmin):
    form = AlertRuleForm
    list_display = (
        "__str__",
        "kind",
        "user",
        "asset",
        "timeframe",
        "level",
        "is_active",
        "is_armed",
        "snoozed_until",
        "expires_at",
        "fire_count",
        "last_fired_at",
    )
    list_filter = ("kind", "is_active", "is_armed", "timeframe")
    list_select_related = ("user", "asset")
    search_fields = ("name", "user__email", "asset__symbol")
    raw_id_fields = ("user", "asset", "watchlist", "watchlist_asset")
    filter_horizontal = ("channels",)
    readonly_fields = ("is_armed", "last_fired_at", "fire_count", "watchlist_asset")


class DeliveryInline(BaseInline):
    model = NotificationDelivery
    fields = (
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "response_status",
        "last_error",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AlertFiring)
class AlertFiringAdmin(ReadOnlyAdmin):
    list_display = ("title", "rule", "event_key", "observed_at", "value", "fired_at")
    list_filter = ("rule__kind",)
    list_select_related = ("rule",)
    search_fields = ("title", "event_key", "rule__name")
    date_hierarchy = None
    inlines = [DeliveryInline]


@admin.action(description="Retry the selected dead deliveries")
def retry_deliveries(modeladmin, request, queryset):
    # Deliveries are never edited; retrying is the one write, for who may change them.
    if not request.user.has_perm("alerts.change_notificationdelivery"):
        modeladmin.message_user(request, "You may not retry deliveries.", messages.ERROR)
        return
    retried = sum(
        services.delivery_retry(delivery=delivery) for delivery in queryset.filter(status=DeliveryStatus.DEAD)
    )
    skipped = queryset.count() - retried
    modeladmin.message_user(request, f"{retried} delivery(ies) queued again.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, f"{skipped} were not dead and were left alone.", messages.WARNING)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every attempt's outcome, the last error, and what is due when."""

    list_display = (
        "pk",
        "firing",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "response_status",
        "short_error",
    )
    list_filter = ("status", "channel__kind")
    list_select_related = ("firing", "channel")
    search_fields = ("firing__title", "channel__url", "channel__email", "last_error", "idempotency_key")
    actions = [retry_deliveries]

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:120]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(BaseAdmin):
    list_display = ("__str__", "kind", "user", "is_active", "verified_at", "last_error")
    list_filter = ("kind", "is_active")
    list_select_related = ("user",)
    search_fields = ("name", "email", "url", "chat_id", "user__email")
    raw_id_fields = ("user",)
    exclude = ("secret", "verification_digest")
    readonly_fields = ("verified_at", "last_error")

    def has_add_permission(self, request):
        return False  # users add channels over the API, where each is verified


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "user", "created_at", "read_at")
    list_filter = ("read_at",)
    list_select_related = ("user",)
    search_fields = ("title", "user__email")
