"""A real Celery worker killed in the middle of a delivery: the one started after it delivers the
notification, and the receiver acts on it once."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from alerts.choices import DeliveryStatus
from alerts.models import NotificationDelivery
from alerts.services.firing import Fire, firings_write
from cryptopredict.celery import app

from .conftest import SECRET
from .factories import AlertRuleFactory, NotificationChannelFactory

BROKER = "redis://127.0.0.1:6379/6"


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def reset_connections():
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.fixture
def broker(settings):
    """Point this process's Celery app at Redis on a queue of its own; restore it afterwards."""
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {BROKER}")
    queue = f"test-alerts-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=BROKER, task_always_eager=False, task_default_queue=queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    reset_connections()
    yield queue
    app.conf.update(saved)
    reset_connections()
    redis.Redis.from_url(BROKER).delete(queue)


def start_worker(queue: str, log_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "ALERT_DELIVERY_LEASE_SECONDS": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "30",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # what the worker queues itself (the sweep) stays in the test
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cryptopredict",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_replaced_without_a_duplicate(broker, webhook_receiver, tmp_path):
    channel = NotificationChannelFactory(url=webhook_receiver.url, secret=SECRET)
    rule = AlertRuleFactory(user=channel.user)
    rule.channels.add(channel)
    webhook_receiver.hold.set()  # the first request is acted upon, and its answer held back
    log = tmp_path / "worker.log"
    worker = start_worker(broker, log)
    try:
        firings_write([Fire(rule=rule, event_key="kill:1", title="BTC above 100000")], disarm=True)  # commits
        delivery = NotificationDelivery.objects.get(firing__rule=rule)
        assert wait_for(lambda: len(webhook_receiver.requests) == 1, 60), log.read_text()[-3000:]
        worker.send_signal(signal.SIGKILL)  # mid-delivery: the request is out, no answer recorded
        worker.wait(10)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENDING and delivery.attempts == 1

        webhook_receiver.release.set()
        assert wait_for(lambda: timezone.now() > delivery.lease_until, 10)
        worker = start_worker(broker, log)  # on start it sweeps the outbox; the dead worker's lease ran out
        assert wait_for(
            lambda: delivery.refresh_from_db() or delivery.status == DeliveryStatus.DELIVERED, 60
        ), log.read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(20)
    assert delivery.attempts == 2
    assert len(webhook_receiver.requests) == 2  # the lost one and the one that was answered
    assert len(webhook_receiver.accepted()) == 1  # acted upon once, by its idempotency key
    keys = {headers["Idempotency-Key"] for headers, _ in webhook_receiver.requests}
    assert keys == {str(delivery.idempotency_key)}
