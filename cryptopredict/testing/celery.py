"""Real Celery processes for the worker tests: one Redis broker, queues of the test's own.

`celery_broker` (a pytest fixture, loaded by the root conftest) points this process's Celery app
at TEST_REDIS_URL (default redis://127.0.0.1:6379/15) with every queue under a prefix of the
test's own, starts workers and beats on the test database with `worker()` / `beat()`, and at the
end stops what is still running, restores the app and deletes the test's keys in Redis. It skips
the test when Redis is not reachable. Use it with `@pytest.mark.worker`, `@pytest.mark.postgres`
and `@pytest.mark.django_db(transaction=True)` (the processes must see committed rows):

    def test_a_worker_runs_it(celery_broker):
        worker = celery_broker.worker(env={"MODEL_ARTIFACTS_DIR": "..."})
        ...                                    # queue work, wait for it (celery_broker.wait_for)
        assert "succeeded" in celery_broker.log()
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from kombu import pools

from cryptopredict.celery import app

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUES = ("ingest", "ai", "default")


def redis_reachable(url: str = TEST_REDIS_URL) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def database_url() -> str:
    """Return the URL of the database this test runs on (the test database), for a subprocess."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _reset_connections() -> None:
    """Drop what the app caches from its configuration: queues and routes (amqp), the broker pools.

    The app's pools are kombu's process-wide ones, keyed by broker URL: closing one and keeping it
    registered would hand the closed pool to every later eager task of this process, so kombu's
    `reset` closes and forgets them all.
    """
    pools.reset()
    app._pool = None
    app.__dict__.pop("amqp", None)


def wait_for(predicate, seconds: float, interval: float = 0.2) -> bool:
    """Return True as soon as `predicate()` is true, False when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class CeleryBroker:
    """The test's broker and queue prefix; starts Celery processes on the test database."""

    def __init__(self, tmp_path: Path):
        self.url = TEST_REDIS_URL
        self.prefix = f"test-{uuid.uuid4().hex[:12]}-"
        self.queues = [f"{self.prefix}{name}" for name in QUEUES]
        self.log_path = tmp_path / "celery.log"
        self.processes: list[subprocess.Popen] = []

    def env(self, extra: dict | None = None) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.url,
            "CELERY_QUEUE_PREFIX": self.prefix,
            # The tests' HTTP stand-ins (webhook receivers) listen on 127.0.0.1.
            "WEBHOOK_ALLOW_LOOPBACK": "true",
            **(extra or {}),
        }

    def start(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        """Start `celery -A cryptopredict <args>`, its output appended to the log."""
        with self.log_path.open("a") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "cryptopredict", *args, "--loglevel=INFO"],
                cwd=django_settings.BASE_DIR,
                env=self.env(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def worker(self, env: dict | None = None) -> subprocess.Popen:
        """Start a solo worker on the test's queues."""
        return self.start(
            "worker", "--pool=solo", "-Q", ",".join(self.queues),
            "--without-gossip", "--without-mingle", "--without-heartbeat", env=env,
        )  # fmt: skip

    def beat(self, env: dict | None = None) -> subprocess.Popen:
        """Start a beat on the database schedule, checking it every second."""
        schedule = self.log_path.with_name("beat-schedule")
        return self.start("beat", "--max-interval=1", f"--schedule={schedule}", env=env)

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text()[-tail:] if self.log_path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def celery_broker(tmp_path, settings):
    """Point this process's Celery app at the test Redis on queues of the test's own (see above)."""
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {TEST_REDIS_URL} (TEST_REDIS_URL)")
    broker = CeleryBroker(tmp_path)
    keys = ("broker_url", "task_always_eager", "task_default_queue", "task_routes")
    saved = {key: app.conf[key] for key in keys}
    # The project's routes, under the test's prefix: tasks go only where the test's workers listen.
    own_prefix = django_settings.CELERY_QUEUE_PREFIX
    routes = {
        pattern: {**route, "queue": broker.prefix + route["queue"].removeprefix(own_prefix)}
        for pattern, route in django_settings.CELERY_TASK_ROUTES.items()
    }
    app.conf.update(
        broker_url=broker.url,
        task_always_eager=False,
        task_default_queue=f"{broker.prefix}default",
        task_routes=routes,
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_connections()
    try:
        yield broker
    finally:
        broker.stop()
        app.conf.update(saved)
        _reset_connections()
        client = redis.Redis.from_url(broker.url)
        for key in client.scan_iter(f"*{broker.prefix}*"):
            client.delete(key)
