"""The schedule and the chain: setup_schedules, each step starting the next, beat -> worker for real."""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ai import services as ai_services
from ai.models import ModelPredictionJob
from ai.tests.test_worker import database_url
from assets.models import PriceData
from assets.tests.factories import AssetFactory
from macro.models import AIRegimeAnalysis, MetricsSnapshot
from marketdata import tasks
from marketdata.models import SyncState
from trading.choices import SignalStatus
from trading.tests.factories import AITradingSignalFactory

pytestmark = pytest.mark.django_db
BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def markets():
    AssetFactory(symbol="BTC", external_ids={"binance": "BTCUSDT"})
    AssetFactory(symbol="ETH", external_ids={"binance": "ETHUSDT"})


def active_model():
    model = ai_services.model_register(name="chain rules", version="1", architecture="regime_rules")
    return ai_services.model_activate(model=model)


def test_setup_schedules_is_idempotent_and_disabled_unless_enabled(capsys, settings):
    settings.SYNC_TIMEFRAMES = ["1h", "1d"]
    call_command("setup_schedules")
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert names == {
        "sync candles 1h",
        "sync candles 1d",
        "daily: sync assets (CoinGecko)",
        "daily: sync macro metrics",
        "daily: archive candles and recount coverage",
    }
    assert not PeriodicTask.objects.filter(enabled=True).exists()
    hourly = PeriodicTask.objects.get(name="sync candles 1h")
    assert (hourly.task, json.loads(hourly.kwargs), hourly.crontab.minute) == (
        "marketdata.sync_candles",
        {"timeframe": "1h"},
        "1",
    )

    call_command("setup_schedules")
    assert "0 created, 0 updated, 5 unchanged" in capsys.readouterr().out.splitlines()[-1]
    call_command("setup_schedules", "--enable")
    assert PeriodicTask.objects.filter(enabled=False).count() == 0
    call_command("setup_schedules")  # a rerun keeps them enabled
    assert PeriodicTask.objects.filter(enabled=True).count() == 5


def test_the_chain_runs_each_step_on_what_changed_and_a_rerun_changes_nothing(binance, settings):
    settings.SYNC_INITIAL_PERIODS = 60
    markets()
    binance.fill_until_now("BTCUSDT", "1d", periods=60)
    binance.fill_until_now("ETHUSDT", "1d", periods=60)
    model = active_model()
    stale_signal = AITradingSignalFactory(
        generated_at=datetime.now(UTC) - timedelta(days=3), expires_at=datetime.now(UTC) - timedelta(days=1)
    )

    lines = tasks.sync_candles.delay("1d").get()  # eager: every step runs here, in order

    assert [line.split(":")[0] for line in lines] == ["binance BTC 1d", "binance ETH 1d"]
    assert PriceData.objects.filter(timeframe="1d").count() == 120
    latest = PriceData.objects.filter(asset__symbol="BTC", timeframe="1d").latest("candle_time")
    assert "rsi_14" in latest.technical_indicators and "sma_50" in latest.technical_indicators
    assert MetricsSnapshot.objects.filter(timeframe="1d").count() == 60
    job = ModelPredictionJob.objects.get(model=model)
    assert job.status == "completed" and job.predictions_count == 60
    assert AIRegimeAnalysis.objects.filter(prediction_job=job).count() == 60
    stale_signal.refresh_from_db()
    assert stale_signal.status == SignalStatus.EXPIRED

    tasks.sync_candles.delay("1d").get()  # nothing new at the exchange: the chain stops at once
    assert ModelPredictionJob.objects.count() == 1
    redelivered = tasks.run_predictions.delay((job.created_at - timedelta(seconds=1)).isoformat())
    assert redelivered.get() == 0 and ModelPredictionJob.objects.count() == 1  # a redelivery repeats nothing


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beat_starts_the_chain_on_a_real_worker(binance, tmp_path):
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {BROKER}")
    markets()
    binance.fill_until_now("BTCUSDT", "1d", periods=40)
    binance.fill_until_now("ETHUSDT", "1d", periods=40)
    model = active_model()
    call_command("setup_schedules", "--enable")
    # The 1d sync every second instead of at 00:05, once: the beat fires it right away.
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="sync candles 1d").update(
        crontab=None, interval=every_second, one_off=True
    )
    PeriodicTask.objects.exclude(name="sync candles 1d").update(enabled=False)
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE_PREFIX": prefix,
        "BINANCE_API_URL": binance.url,
        "SYNC_INITIAL_PERIODS": "40",
        "MODEL_ARTIFACTS_DIR": str(tmp_path),
    }
    queues = ",".join(f"{prefix}{q}" for q in ("ingest", "ai", "default"))
    log = (tmp_path / "celery.log").open("w")
    common = {"cwd": django_settings.BASE_DIR, "env": env, "stdout": log, "stderr": subprocess.STDOUT}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cryptopredict", "worker", "--pool=solo", "-Q", queues,
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"], **common,
    )  # fmt: skip
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cryptopredict", "beat", "--loglevel=INFO", "--max-interval=1",
         f"--schedule={tmp_path / 'beat-schedule'}"], **common,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if ModelPredictionJob.objects.filter(model=model, status="completed").exists():
                break
            time.sleep(0.5)
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(20)
        log.close()
    output = (tmp_path / "celery.log").read_text()
    assert ModelPredictionJob.objects.filter(model=model, status="completed").exists(), output[-4000:]
    assert "Sending due task sync candles 1d (marketdata.sync_candles)" in output
    assert PriceData.objects.filter(timeframe="1d").count() == 80
    assert MetricsSnapshot.objects.filter(timeframe="1d").count() == 40
    state = SyncState.objects.get(asset__symbol="BTC", timeframe="1d")
    assert state.last_error == "" and state.last_success_at is not None
