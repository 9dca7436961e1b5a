"""Many clients upserting the same candles at once: no deadlock, no error, a serializable result."""

import random
import threading
import traceback
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from assets.candle_writes import RETRY_ATTEMPTS, transient, write_retrying
from assets.models import PriceData
from assets.tests.factories import AssetFactory
from users.tests.factories import AdminUserFactory

WRITERS = 20
START = datetime(2024, 1, 1, tzinfo=UTC)


def _candles(writer: int, hours: range) -> list[dict]:
    """Candles of `hours` whose prices say which writer sent them."""
    price = str(100 + writer)
    rows = [
        {
            "candle_time": (START + timedelta(hours=h)).isoformat(),
            "open": price,
            "high": price,
            "low": price,
            "close": price,
            "volume": str(writer),
        }
        for h in hours
    ]
    random.Random(writer).shuffle(rows)  # every writer sends its rows in another order
    return rows


def _hours(writer: int) -> range:
    # Overlapping windows: writer w covers hours 5*(w % 4) .. +40, so every hour has many writers.
    return range(5 * (writer % 4), 5 * (writer % 4) + 40)


def _acyclic(edges: dict[int, set[int]]) -> bool:
    """Return whether the precedence graph has no cycle (Kahn's algorithm)."""
    incoming = {node: 0 for node in edges}
    for targets in edges.values():
        for target in targets:
            incoming[target] = incoming.get(target, 0) + 1
    ready = [node for node, count in incoming.items() if count == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for target in edges.get(node, ()):
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return seen == len(incoming)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_writers_of_shuffled_overlapping_batches_all_succeed():
    asset = AssetFactory(symbol="BTC")
    user = AdminUserFactory(subscription_plan="enterprise")
    barrier = threading.Barrier(WRITERS)
    answers: dict[int, tuple[int, dict]] = {}

    def write(writer: int) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user)
            body = _candles(writer, _hours(writer))
            barrier.wait()
            response = client.post(f"/api/v1/assets/{asset.pk}/candles/?timeframe=1h", body, format="json")
            answers[writer] = (response.status_code, response.json())
        except Exception as error:  # a 500 raises in the test client
            answers[writer] = (500, {"error": repr(error), "where": traceback.format_exc()[-3000:]})
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    failed = {writer: answer for writer, answer in answers.items() if answer[0] != 200}
    assert len(answers) == WRITERS and not failed, failed
    assert all(not body["rejected"] for _, body in answers.values())

    # Each candle holds the values of one writer that sent it, and some order of the writers'
    # transactions explains every candle at once: the last writer of each candle in that order.
    stored = {
        int((row.candle_time - START) / timedelta(hours=1)): int(row.close_price) - 100
        for row in PriceData.objects.filter(asset=asset, timeframe="1h")
    }
    assert set(stored) == set(range(0, 55))
    before: dict[int, set[int]] = {writer: set() for writer in range(WRITERS)}
    for hour, winner in stored.items():
        assert hour in _hours(winner)
        for writer in range(WRITERS):
            if writer != winner and hour in _hours(writer):
                before[writer].add(winner)
    assert _acyclic(before)

    # A last writer afterwards: the table is exactly its values where it wrote.
    client = APIClient()
    client.force_authenticate(user)
    last = client.post(
        f"/api/v1/assets/{asset.pk}/candles/?timeframe=1h", _candles(99, range(55)), format="json"
    )
    assert last.status_code == 200 and last.json()["inserted"] == 0
    closes = set(PriceData.objects.filter(asset=asset, timeframe="1h").values_list("close_price", flat=True))
    assert closes == {Decimal(199)}


class _Deadlocking:
    """A write that fails with the given error the first `times` calls."""

    def __init__(self, error: Exception, times: int):
        self.error, self.times, self.calls = error, times, 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return 1, 0


@pytest.mark.django_db
def test_a_deadlock_is_retried_and_then_succeeds(monkeypatch):
    monkeypatch.setattr("assets.candle_writes.time.sleep", lambda seconds: None)
    write = _Deadlocking(psycopg.errors.DeadlockDetected("deadlock detected"), times=2)
    assert write_retrying(write) == (1, 0)
    assert write.calls == 3


@pytest.mark.django_db
def test_retries_are_bounded_and_other_errors_are_not_retried(monkeypatch):
    pauses = []
    monkeypatch.setattr("assets.candle_writes.time.sleep", pauses.append)
    wrapped = OperationalError("wrapped")
    wrapped.__cause__ = psycopg.errors.SerializationFailure("could not serialize")
    assert transient(wrapped)
    always = _Deadlocking(wrapped, times=100)
    with pytest.raises(OperationalError):
        write_retrying(always)
    assert always.calls == RETRY_ATTEMPTS and len(pauses) == RETRY_ATTEMPTS - 1
    assert all(0 <= pause <= 0.05 * 2**attempt for attempt, pause in enumerate(pauses, start=1))

    other = _Deadlocking(ValueError("a bug"), times=1)
    with pytest.raises(ValueError):
        write_retrying(other)
    assert other.calls == 1
