"""The schedule and the chain: setup_schedules, each step starting the next, beat -> worker for real."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ai import services as ai_services
from ai.models import ModelPredictionJob
from assets.models import PriceData
from assets.tests.factories import AssetFactory
from cryptopredict.testing.celery import wait_for
from macro.models import AIRegimeAnalysis, MetricsSnapshot
from marketdata import tasks
from marketdata.models import SyncState
from trading.choices import SignalStatus
from trading.tests.factories import AITradingSignalFactory

pytestmark = pytest.mark.django_db


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
        "daily: create candle partitions",
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
    assert "0 created, 0 updated, 6 unchanged" in capsys.readouterr().out.splitlines()[-1]
    call_command("setup_schedules", "--enable")
    assert PeriodicTask.objects.filter(enabled=False).count() == 0
    call_command("setup_schedules")  # a rerun keeps them enabled
    assert PeriodicTask.objects.filter(enabled=True).count() == 6


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


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beat_starts_the_chain_on_a_real_worker(celery_broker, binance, tmp_path):
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
    env = {
        "BINANCE_API_URL": binance.url,
        "SYNC_INITIAL_PERIODS": "40",
        "MODEL_ARTIFACTS_DIR": str(tmp_path),
    }
    celery_broker.worker(env=env)
    celery_broker.beat(env=env)
    completed = ModelPredictionJob.objects.filter(model=model, status="completed")
    wait_for(completed.exists, 120, interval=0.5)
    celery_broker.stop()
    output = celery_broker.log(tail=10**9)
    assert completed.exists(), output[-4000:]
    assert "Sending due task sync candles 1d (marketdata.sync_candles)" in output
    assert PriceData.objects.filter(timeframe="1d").count() == 80
    assert MetricsSnapshot.objects.filter(timeframe="1d").count() == 40
    state = SyncState.objects.get(asset__symbol="BTC", timeframe="1d")
    assert state.last_error == "" and state.last_success_at is not None
