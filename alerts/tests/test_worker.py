"""A real Celery worker killed in the middle of a delivery: the one started after it delivers the
notification, and the receiver acts on it once."""

import signal

import pytest
from django.utils import timezone

from alerts.choices import DeliveryStatus
from alerts.models import NotificationDelivery
from alerts.services.firing import Fire, firings_write
from cryptopredict.testing.celery import wait_for

from .conftest import SECRET
from .factories import AlertRuleFactory, NotificationChannelFactory

# A short lease, so the second worker takes the dead one's delivery over soon.
WORKER_ENV = {"ALERT_DELIVERY_LEASE_SECONDS": "2", "WEBHOOK_TIMEOUT_SECONDS": "30"}


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_replaced_without_a_duplicate(celery_broker, webhook_receiver):
    channel = NotificationChannelFactory(url=webhook_receiver.url, secret=SECRET)
    rule = AlertRuleFactory(user=channel.user)
    rule.channels.add(channel)
    webhook_receiver.hold.set()  # the first request is acted upon, and its answer held back
    worker = celery_broker.worker(env=WORKER_ENV)
    firings_write([Fire(rule=rule, event_key="kill:1", title="BTC above 100000")], disarm=True)  # commits
    delivery = NotificationDelivery.objects.get(firing__rule=rule)
    assert wait_for(lambda: len(webhook_receiver.requests) == 1, 60), celery_broker.log()
    worker.send_signal(signal.SIGKILL)  # mid-delivery: the request is out, no answer recorded
    worker.wait(10)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING and delivery.attempts == 1

    webhook_receiver.release.set()
    assert wait_for(lambda: timezone.now() > delivery.lease_until, 10)
    celery_broker.worker(env=WORKER_ENV)  # on start it sweeps the outbox; the dead worker's lease ran out
    assert wait_for(lambda: delivery.refresh_from_db() or delivery.status == DeliveryStatus.DELIVERED, 60), (
        celery_broker.log()
    )
    assert delivery.attempts == 2
    assert len(webhook_receiver.requests) == 2  # the lost one and the one that was answered
    assert len(webhook_receiver.accepted()) == 1  # acted upon once, by its idempotency key
    keys = {headers["Idempotency-Key"] for headers, _ in webhook_receiver.requests}
    assert keys == {str(delivery.idempotency_key)}
