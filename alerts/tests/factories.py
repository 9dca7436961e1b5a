"""Factories for the alerts app: channels, rules, firings, notifications and deliveries."""

from decimal import Decimal

import factory
from django.utils import timezone

from alerts.choices import ChannelKind, DeliveryStatus, RuleKind
from alerts.models import AlertFiring, AlertRule, Notification, NotificationChannel, NotificationDelivery
from assets.tests.factories import AssetFactory
from users.tests.factories import UserFactory


class NotificationChannelFactory(factory.django.DjangoModelFactory):
    """A verified webhook channel."""

    class Meta:
        model = NotificationChannel

    user = factory.SubFactory(UserFactory)
    kind = ChannelKind.WEBHOOK
    name = factory.Sequence(lambda n: f"Hook {n}")
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hook/{n}")
    secret = "s3cret-of-sixteen-chars"
    verified_at = factory.LazyFunction(timezone.now)


class AlertRuleFactory(factory.django.DjangoModelFactory):
    """BTC-like: a daily price_above rule at 100."""

    class Meta:
        model = AlertRule

    user = factory.SubFactory(UserFactory)
    kind = RuleKind.PRICE_ABOVE
    asset = factory.SubFactory(AssetFactory)
    level = Decimal("100")


class AlertFiringFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertFiring

    rule = factory.SubFactory(AlertRuleFactory)
    event_key = factory.Sequence(lambda n: f"test:{n}")
    title = "Fired"


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    firing = factory.SubFactory(AlertFiringFactory, rule__user=factory.SelfAttribute("...user"))
    title = "Fired"


class NotificationDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationDelivery

    firing = factory.SubFactory(AlertFiringFactory)
    channel = factory.SubFactory(NotificationChannelFactory, user=factory.SelfAttribute("..firing.rule.user"))
    status = DeliveryStatus.PENDING
