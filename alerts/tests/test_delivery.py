"""The outbox: a firing's deliveries are sent after the commit, signed, retried with backoff,
dead after the last attempt and retried from the admin; a channel that is down never fails the
write that fired the alert."""

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from alerts import services
from alerts.choices import ChannelKind, DeliveryStatus
from alerts.models import AlertFiring, Notification, NotificationDelivery
from alerts.services.firing import Fire
from assets.tests.factories import AssetFactory
from users.tests.factories import AdminUserFactory, UserFactory

from .conftest import SECRET
from .factories import (
    AlertRuleFactory,
    NotificationChannelFactory,
    NotificationDeliveryFactory,
)


def fire_one(channel, *, commit: bool = True, **rule_kwargs) -> NotificationDelivery:
    """Fire a rule with `channel`; with `commit`, run what waits for the commit (the send)."""
    rule = AlertRuleFactory(user=channel.user, **rule_kwargs)
    rule.channels.add(channel)
    fire = Fire(rule=rule, event_key="test:1", title="BTC above 100000", message="m")
    with TestCase.captureOnCommitCallbacks(execute=commit):
        services.firings_write([fire], disarm=True)
    return NotificationDelivery.objects.get(firing__rule=rule)


@pytest.fixture
def hook(webhook_receiver):
    return NotificationChannelFactory(url=webhook_receiver.url, secret=SECRET)


@pytest.mark.django_db
def test_a_firing_is_delivered_once_signed_after_commit(hook, webhook_receiver):
    delivery = fire_one(hook)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.response_status == 200 and delivery.delivered_at is not None
    assert len(webhook_receiver.requests) == 1 and webhook_receiver.bad_signatures == 0
    headers, body = webhook_receiver.requests[0]
    # The receiver's own check passed; here it is again, by the README's recipe.
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-CryptoPredict-Signature"] == f"sha256={digest}"
    assert headers["Idempotency-Key"] == str(delivery.idempotency_key)
    payload = json.loads(body)
    assert payload["timestamp"] == int(headers["X-CryptoPredict-Timestamp"])
    assert payload["event"] == "alert.fired" and payload["title"] == "BTC above 100000"
    assert payload["firing_id"] == delivery.firing_id and payload["delivery_id"] == delivery.pk
    assert Notification.objects.filter(firing=delivery.firing, user=hook.user).count() == 1


@pytest.mark.django_db
def test_a_receiver_with_another_secret_refuses_and_the_delivery_retries(hook, webhook_receiver):
    webhook_receiver.secret = "not-the-channel-secret"
    delivery = fire_one(hook)
    delivery.refresh_from_db()
    assert webhook_receiver.bad_signatures == 1
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_status == 401
    assert delivery.last_error.startswith("HTTP 401")


@pytest.mark.django_db
def test_a_receiver_down_for_three_attempts_gets_the_notification_exactly_once(
    hook, webhook_receiver, settings
):
    settings.ALERT_DELIVERY_BACKOFF_SECONDS = 30
    webhook_receiver.fail_first = 3
    delivery = fire_one(hook, commit=False)  # sent by hand below, at chosen times
    t = timezone.now()

    waits = []
    for _ in range(3):
        attempt = services.delivery_attempt(delivery_id=delivery.pk, now=t)
        assert not attempt.ok
        waits.append(attempt.retry_in)
        assert (
            services.delivery_attempt(delivery_id=delivery.pk, now=t + attempt.retry_in / 2) is None
        )  # not due
        t += attempt.retry_in
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert services.delivery_attempt(delivery_id=delivery.pk, now=t).ok
    assert services.delivery_attempt(delivery_id=delivery.pk, now=t + timedelta(days=1)) is None  # done

    delivery.refresh_from_db()
    assert (
        delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 4 and delivery.last_error == ""
    )
    assert len(webhook_receiver.requests) == 4
    assert len(webhook_receiver.accepted()) == 1
    keys = {headers["Idempotency-Key"] for headers, _ in webhook_receiver.requests}
    assert keys == {str(delivery.idempotency_key)}


@pytest.mark.django_db
def test_after_the_last_attempt_a_delivery_is_dead_with_its_error_and_can_be_retried(settings, client):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 3
    channel = NotificationChannelFactory(url="http://127.0.0.1:9/closed")  # nothing listens on port 9
    delivery = fire_one(channel, commit=False)
    t = timezone.now()
    for _ in range(3):
        attempt = services.delivery_attempt(delivery_id=delivery.pk, now=t)
        t += attempt.retry_in or timedelta(0)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 3
    assert "ConnectionError" in delivery.last_error
    assert services.deliveries_due(now=t + timedelta(days=30)) == []

    client.force_login(AdminUserFactory())
    changelist = reverse("admin:alerts_notificationdelivery_changelist")
    page = client.get(changelist, {"status": "dead"})
    assert page.status_code == 200 and "ConnectionError" in page.content.decode()
    response = client.post(changelist, {"action": "retry_deliveries", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert services.deliveries_due() == [delivery.pk]


@pytest.mark.django_db
def test_a_claimed_delivery_is_not_sent_twice_until_its_lease_ends(hook, settings):
    settings.ALERT_DELIVERY_LEASE_SECONDS = 60
    delivery = NotificationDeliveryFactory(channel=hook, firing__rule__user=hook.user)
    t = timezone.now()
    # A worker claimed it and died before recording anything.
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, lease_until=t + timedelta(seconds=60)
    )
    assert services.deliveries_due(now=t + timedelta(seconds=30)) == []
    assert services.delivery_attempt(delivery_id=delivery.pk, now=t + timedelta(seconds=30)) is None
    assert services.deliveries_due(now=t + timedelta(seconds=61)) == [delivery.pk]
    assert services.delivery_attempt(delivery_id=delivery.pk, now=t + timedelta(seconds=61)).ok


@pytest.mark.django_db
def test_a_channel_that_is_down_never_fails_the_write(btc_rule_on_closed_port):
    from alerts.tests.test_evaluation import candle

    rule = btc_rule_on_closed_port
    candle(rule.asset, 0, "150")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.series_evaluate(asset_id=rule.asset_id, timeframe="1d") == 1
    delivery = NotificationDelivery.objects.get(firing__rule=rule)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1 and delivery.last_error
    assert AlertFiring.objects.filter(rule=rule).count() == 1


@pytest.fixture
def btc_rule_on_closed_port():
    channel = NotificationChannelFactory(url="http://127.0.0.1:9/closed")
    rule = AlertRuleFactory(user=channel.user, asset=AssetFactory(symbol="BTC"), level=Decimal("100"))
    rule.channels.add(channel)
    return rule


@pytest.mark.django_db
def test_unverified_and_paused_channels_get_nothing(webhook_receiver):
    user = UserFactory()
    unverified = NotificationChannelFactory(user=user, url=webhook_receiver.url, verified_at=None)
    paused = NotificationChannelFactory(user=user, url=webhook_receiver.url, is_active=False)
    rule = AlertRuleFactory(user=user)
    rule.channels.add(unverified, paused)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.firings_write([Fire(rule=rule, event_key="e", title="t")], disarm=True)
    assert not NotificationDelivery.objects.exists() and webhook_receiver.requests == []
    assert Notification.objects.filter(user=user).count() == 1  # in-app always


@pytest.mark.django_db
def test_telegram_delivery_uses_send_message(telegram_api):
    channel = NotificationChannelFactory(kind=ChannelKind.TELEGRAM, url="", secret="", chat_id="42")
    delivery = fire_one(channel)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_status == 200
    assert telegram_api.messages == [
        {"chat_id": "42", "text": "BTC above 100000\nm", "disable_web_page_preview": True}
    ]


@pytest.mark.django_db
def test_telegram_errors_are_kept_with_the_api_description(telegram_api):
    channel = NotificationChannelFactory(kind=ChannelKind.TELEGRAM, url="", secret="", chat_id="7")
    delivery = fire_one(channel)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "Telegram 400: Bad Request: chat not found"


@pytest.mark.django_db
def test_email_delivery_sends_one_mail():
    channel = NotificationChannelFactory(kind=ChannelKind.EMAIL, url="", secret="", email="ada@example.com")
    delivery = fire_one(channel)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["ada@example.com"], "BTC above 100000", "m")
    ]


@pytest.mark.django_db
def test_the_command_sends_what_is_due_and_names_the_failures(hook, webhook_receiver):
    from io import StringIO

    from django.core.management import call_command

    fire_one(hook, commit=False)
    broken = NotificationChannelFactory(user=hook.user, url="http://127.0.0.1:9/closed")
    fire_one(broken, commit=False)
    out, err = StringIO(), StringIO()
    call_command("send_notifications", stdout=out, stderr=err)
    assert out.getvalue().strip() == "2 due: 1 delivered, 1 to retry, 0 dead"
    assert "ConnectionError" in err.getvalue()
    assert len(webhook_receiver.accepted()) == 1


@pytest.mark.django_db
def test_prune_deletes_old_firings_but_keeps_those_still_to_deliver():
    from alerts.tests.factories import AlertFiringFactory

    now = timezone.now()
    old_done = AlertFiringFactory(fired_at=now - timedelta(days=200))
    NotificationDeliveryFactory(firing=old_done, status=DeliveryStatus.DEAD)
    old_due = AlertFiringFactory(fired_at=now - timedelta(days=200))
    NotificationDeliveryFactory(firing=old_due)
    recent = AlertFiringFactory(fired_at=now - timedelta(days=10))
    assert services.firings_prune(before=now - timedelta(days=180), batch=1) == 1
    assert set(AlertFiring.objects.values_list("pk", flat=True)) == {old_due.pk, recent.pk}
    assert not NotificationDelivery.objects.filter(firing_id=old_done.pk).exists()
