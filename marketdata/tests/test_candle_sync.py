"""candles_sync against a local api.binance.com, through the real ccxt client."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from assets.models import PriceData
from assets.tests.factories import AssetFactory
from cryptopredict.testing.celery import database_url
from marketdata.models import KnownGap, SyncState
from marketdata.services.candles import SyncError, candles_sync

from .servers import DROP, ms

KLINES = "/api/v3/klines"
pytestmark = pytest.mark.django_db


@pytest.fixture
def btc():
    return AssetFactory(symbol="BTC", external_ids={"binance": "BTCUSDT", "coingecko": "bitcoin"})


def stored(asset, timeframe="1h"):
    return list(
        PriceData.objects.filter(asset=asset, timeframe=timeframe)
        .order_by("candle_time")
        .values_list("candle_time", flat=True)
    )


def test_a_first_sync_stores_every_closed_candle_page_by_page_and_not_the_open_one(binance, btc, settings):
    settings.SYNC_PAGE_LIMIT = 2
    settings.SYNC_INITIAL_PERIODS = 5
    start = binance.fill_until_now("BTCUSDT", "1h", periods=5)

    result = candles_sync(asset=btc, timeframe="1h")

    assert result.error is None and result.inserted == 5 and result.pages == 3
    times = stored(btc)
    assert times == [start + timedelta(hours=n) for n in range(5)]  # the sixth, open candle is not
    first = PriceData.objects.get(asset=btc, timeframe="1h", candle_time=start)
    raw = binance.candles[("BTCUSDT", "1h")][start]
    assert first.open_price == Decimal(raw[1]) and first.close_price == Decimal(raw[4])
    assert first.volume == Decimal(raw[5]) and first.trade_count == 617
    assert first.vwap.quantize(Decimal("1e-8")) == (Decimal(raw[7]) / Decimal(raw[5])).quantize(
        Decimal("1e-8")
    )
    state = SyncState.objects.get(source="binance", asset=btc, timeframe="1h")
    assert (state.first_candle_time, state.last_candle_time, state.candle_count) == (times[0], times[-1], 5)
    assert state.last_success_at is not None and state.last_error == ""
    assert state.lag() < timedelta(hours=1)


def test_a_rerun_fetches_only_after_the_last_stored_candle(binance, btc, settings):
    settings.SYNC_INITIAL_PERIODS = 6
    binance.fill_until_now("BTCUSDT", "1h", periods=6)
    candles_sync(asset=btc, timeframe="1h")
    times = stored(btc)
    PriceData.objects.filter(candle_time__in=times[-2:]).delete()  # as if the last run was 2 hours ago
    binance.requests.clear()

    result = candles_sync(asset=btc, timeframe="1h")

    assert [int(q["startTime"]) for q in binance.hits(KLINES)] == [ms(times[-2])]
    assert result.inserted == 2 and result.unchanged == 0 and stored(btc) == times
    binance.requests.clear()
    assert candles_sync(asset=btc, timeframe="1h").pages == 0  # current: no request at all
    assert binance.hits(KLINES) == []


def test_429_with_retry_after_and_a_500_are_retried(binance, btc, settings, waits):
    settings.SYNC_INITIAL_PERIODS = 3
    settings.SOURCE_BACKOFF_SECONDS = 0.5
    binance.fill_until_now("BTCUSDT", "1h", periods=3)
    binance.faults[KLINES].extend([(429, {"Retry-After": "7"}), 500])

    result = candles_sync(asset=btc, timeframe="1h")

    assert result.error is None and result.inserted == 3
    assert waits == [7.0, 1.0]  # Retry-After honoured, then 0.5 s x 2^1
    assert len(binance.hits(KLINES)) == 3


def test_weight_near_the_limit_waits_for_the_next_minute(binance, btc, settings, waits):
    settings.SYNC_INITIAL_PERIODS = 2
    settings.BINANCE_WEIGHT_LIMIT = 10
    binance.fill_until_now("BTCUSDT", "1h", periods=2)

    candles_sync(asset=btc, timeframe="1h")

    assert waits and all(0 < wait <= 60 for wait in waits)  # exchangeInfo alone weighs 20


def test_a_connection_dropped_mid_sync_is_retried_and_nothing_is_lost_or_repeated(binance, btc, settings):
    settings.SYNC_PAGE_LIMIT = 2
    settings.SYNC_INITIAL_PERIODS = 4
    binance.fill_until_now("BTCUSDT", "1h", periods=4)
    binance.faults[KLINES].extend([None, DROP])  # the second page's first answer breaks off

    result = candles_sync(asset=btc, timeframe="1h")

    assert result.error is None and result.inserted == 4 and len(stored(btc)) == 4


def test_a_run_that_fails_keeps_the_pages_before_and_the_rerun_resumes(binance, btc, settings):
    settings.SYNC_PAGE_LIMIT = 2
    settings.SYNC_INITIAL_PERIODS = 4
    settings.SOURCE_RETRIES = 1
    start = binance.fill_until_now("BTCUSDT", "1h", periods=4)
    binance.faults[KLINES].extend([None, DROP, DROP])

    failed = candles_sync(asset=btc, timeframe="1h")

    assert (
        failed.error.startswith("binance: GET klines BTCUSDT 1h: NetworkError") and "\n" not in failed.error
    )
    assert stored(btc) == [start, start + timedelta(hours=1)]  # the first page; nothing of the second
    state = SyncState.objects.get(asset=btc)
    assert state.last_error == failed.error and state.last_success_at is None

    resumed = candles_sync(asset=btc, timeframe="1h")

    assert resumed.error is None and resumed.inserted == 2 and resumed.unchanged == 0
    assert int(binance.hits(KLINES)[-2]["startTime"]) == ms(start + timedelta(hours=2))
    assert len(stored(btc)) == 4
    state.refresh_from_db()
    assert state.last_error == "" and state.candle_count == 4


def test_a_gap_is_requested_again_once_then_recorded_as_known(binance, btc, settings):
    settings.SYNC_INITIAL_PERIODS = 8
    start = binance.fill_until_now("BTCUSDT", "1h", periods=8)
    lacking, late = start + timedelta(hours=2), start + timedelta(hours=5)
    binance.lacks.add(lacking)
    binance.late.add(late)

    result = candles_sync(asset=btc, timeframe="1h")

    assert result.refilled == 1 and late in stored(btc) and lacking not in stored(btc)
    assert len(stored(btc)) == 7
    gap = KnownGap.objects.get()
    assert (gap.start, gap.end, gap.missing) == (lacking, lacking, 1)

    candles_sync(asset=btc, timeframe="1h", since=start)  # the same range again: the gap is known

    assert [q for q in binance.hits(KLINES) if int(q["startTime"]) == ms(lacking)] != []
    assert len([q for q in binance.hits(KLINES) if int(q["startTime"]) == ms(lacking)]) == 1
    assert KnownGap.objects.count() == 1


def test_an_asset_without_a_market_or_an_unknown_market_is_refused(binance, btc):
    with pytest.raises(SyncError, match="ETH has no 'binance' market"):
        candles_sync(asset=AssetFactory(symbol="ETH", external_ids={}), timeframe="1h")
    odd = AssetFactory(symbol="ODD", external_ids={"binance": "ODDUSDT"})
    result = candles_sync(asset=odd, timeframe="1h")
    assert result.error == "binance: no market 'ODDUSDT' on the exchange"


def test_the_command_syncs_every_asset_with_a_market_and_fails_with_one_line(binance, btc, settings, capsys):
    settings.SYNC_INITIAL_PERIODS = 3
    binance.fill_until_now("BTCUSDT", "1d", periods=3)
    call_command("sync_candles", "--timeframe", "1d")
    assert "binance BTC 1d: 3 new, 0 updated, 0 unchanged in 1 pages" in capsys.readouterr().out

    settings.SOURCE_RETRIES = 0
    binance.fill_until_now("BTCUSDT", "1h", periods=3)
    binance.faults[KLINES].append(500)
    with pytest.raises(CommandError, match="1 series stopped on a source error") as error:
        call_command("sync_candles", "--timeframe", "1h", "--symbol", "btc")
    assert error.value.returncode == 1
    assert "stopped: binance: GET klines BTCUSDT 1h: ExchangeNotAvailable" in capsys.readouterr().err
    with pytest.raises(CommandError, match="no asset XYZ has a 'binance' market") as error:
        call_command("sync_candles", "--symbol", "xyz")
    assert error.value.returncode == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_of_one_series_never_fetch_it_twice(binance, btc, settings):
    settings.SYNC_INITIAL_PERIODS = 3
    binance.fill_until_now("BTCUSDT", "1h", periods=3)
    binance.block.clear()  # the first run waits inside its klines request
    first: dict = {}

    def run():
        try:
            first["result"] = candles_sync(asset=btc, timeframe="1h")
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert binance.entered.wait(10)
    second = candles_sync(asset=btc, timeframe="1h")
    binance.block.set()
    thread.join(20)

    assert second.locked and second.pages == 0 and "another run" in second.summary()
    assert first["result"].inserted == 3 and len(binance.hits(KLINES)) == 1
    assert len(stored(btc)) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sync_killed_mid_run_loses_and_duplicates_nothing_and_frees_its_lock(binance, btc, tmp_path):
    start = binance.fill_until_now("BTCUSDT", "1h", periods=6)
    binance.hold_after = 1  # the first page is answered; the process is killed waiting for the second
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "BINANCE_API_URL": binance.url,
        "SYNC_PAGE_LIMIT": "2",
        "SYNC_INITIAL_PERIODS": "6",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sync_candles", "--timeframe", "1h"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert binance.entered.wait(60)
        process.send_signal(signal.SIGKILL)
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
    assert stored(btc) == [start, start + timedelta(hours=1)]  # the first page, committed
    binance.hold_after = None
    binance.block.set()

    resumed = candles_sync(asset=btc, timeframe="1h")  # the killed run's lock went with its connection

    assert not resumed.locked and resumed.inserted == 4 and resumed.unchanged == 0
    assert stored(btc) == [start + timedelta(hours=n) for n in range(6)]
    assert SyncState.objects.get(asset=btc).candle_count == 6
