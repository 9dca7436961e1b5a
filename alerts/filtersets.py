"""Filters of the alerts lists: rules by kind or asset (id or symbol), notifications by unread."""

from django_filters import rest_framework as filters

from cryptopredict.api.filters import BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import AlertFiring, AlertRule, Notification, NotificationChannel, NotificationDelivery


class NotificationChannelFilterSet(BaseFilterSet):
    class Meta:
        model = NotificationChannel
        fields = filter_fields(NotificationChannel, exclude=("secret", "verification_digest"))


class AlertRuleFilterSet(BaseFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol")

    class Meta:
        model = AlertRule
        fields = filter_fields(AlertRule)


class NotificationFilterSet(BaseFilterSet):
    unread = filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="Only unread (true) or read (false)"
    )

    class Meta:
        model = Notification
        fields = filter_fields(Notification)


class AlertFiringFilterSet(BaseFilterSet):
    class Meta:
        model = AlertFiring
        fields = filter_fields(AlertFiring)


class NotificationDeliveryFilterSet(BaseFilterSet):
    class Meta:
        model = NotificationDelivery
        fields = filter_fields(NotificationDelivery)
