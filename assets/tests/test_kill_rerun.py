"""kill -9 in the middle of an import or an archive run, then run it again: nothing lost, nothing twice."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice

import pytest
from django.conf import settings
from django.db import connection

from assets.models import Asset, PriceData, PriceDataArchive
from assets.services.writing import BATCH_SIZE, FIRST_BATCH, batch_sizes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Minutes: import batches of 5,000, 10,000, 20,000 and 25,000 (batch_sizes), so that a kill after
# the first lands in the middle of a bigger one; more rows would only make the rerun longer.
ROWS = FIRST_BATCH + BATCH_SIZE + FIRST_BATCH
# What the first batches hold together: what a kill between two of them leaves.
COMMITTED = set(islice(accumulate(batch_sizes(BATCH_SIZE)), 3))
ARCHIVED = 5_000  # ten archive batches of 500
START = datetime(2020, 1, 1, tzinfo=UTC)


def _env() -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "ENV_FILE": "/dev/null", "DEBUG": "true"}


def _manage(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_when(process: subprocess.Popen, started, timeout: float = 120) -> bool:
    """SIGKILL `process` as soon as `started()` holds; return False when it finished first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if started():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    process.wait()
    return False


def _candle_file(path) -> None:
    with path.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        for n in range(ROWS):
            moment = (START + timedelta(minutes=n)).isoformat()
            handle.write(f"{moment},{100 + n % 7},{110 + n % 7},{90 + n % 7},{105 + n % 7},{n}\n")


def test_an_import_killed_midway_is_finished_by_a_rerun(tmp_path):
    path = tmp_path / "minutes.csv"
    _candle_file(path)
    Asset.objects.create(symbol="KILL", name="Kill", asset_type="crypto")
    # Without indicators: they are computed after the last batch, which the kill never reaches, and
    # computing them for the rerun's rows (most of its time) is what test_indicator_writes covers.
    args = ("import_candles", str(path), "--symbol", "KILL", "--timeframe", "1m", "--no-indicators")
    first = _manage(*args)
    killed = _kill_when(first, lambda: PriceData.objects.filter(asset__symbol="KILL").exists())
    stored = PriceData.objects.filter(asset__symbol="KILL").count()
    if killed:
        # Whole batches only, never half of one.
        assert stored in COMMITTED, stored
    rerun = _manage(*args)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()[-2000:]
    rows = PriceData.objects.filter(asset__symbol="KILL")
    assert rows.count() == ROWS
    last = rows.get(candle_time=START + timedelta(minutes=ROWS - 1))
    assert (last.close_price, last.volume) == (105 + (ROWS - 1) % 7, ROWS - 1)


def test_an_archive_run_killed_midway_is_finished_by_a_rerun():
    asset = Asset.objects.create(symbol="ARCH", name="Arch", asset_type="crypto")
    old = START - timedelta(days=2000)
    PriceData.objects.bulk_create(
        PriceData(
            asset=asset,
            timeframe="1m",
            candle_time=old + timedelta(minutes=n),
            open_price=1,
            high_price=2,
            low_price=1,
            close_price=2,
            volume=n,
        )
        for n in range(ARCHIVED)
    )
    args = ("archive_price_data", "--older-than", "365d", "--batch-size", "500")
    killed = _kill_when(_manage(*args), lambda: PriceDataArchive.objects.exists())
    moved = PriceDataArchive.objects.count()
    # Every candle is in exactly one table, and whole batches moved.
    assert moved + PriceData.objects.count() == ARCHIVED
    if killed:
        assert moved % 500 == 0
    rerun = _manage(*args)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()[-2000:]
    assert PriceData.objects.count() == 0
    assert PriceDataArchive.objects.count() == ARCHIVED
    assert sorted(PriceDataArchive.objects.values_list("volume", flat=True))[-1] == ARCHIVED - 1
