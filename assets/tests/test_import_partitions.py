"""An import makes the month partitions of its candles first and gathers the statistics of the
partitions it wrote (PostgreSQL): old candles land in their month, not in the DEFAULT partition."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from assets.models import PriceData
from assets.services import partitions
from assets.services.importing import candles_import
from assets.services.partitions import month_partitions_ensure, months_of
from assets.tests.factories import AssetFactory
from cryptopredict.statistics import BackgroundAnalyzer

pytestmark = [pytest.mark.postgres]

JANUARY_2019 = datetime(2019, 1, 1, tzinfo=UTC)


def klines_write(path: Path, start: datetime, hours: int) -> Path:
    """Write `hours` 1h Binance klines from `start` to `path`."""
    with path.open("w") as file:
        for hour in range(hours):
            millis = int((start + timedelta(hours=hour)).timestamp() * 1000)
            price = 100 + hour % 7
            file.write(
                f"{millis},{price},{price + 1},{price - 1},{price},2.5,{millis + 3_599_999},"
                f"{price * 2.5},7,0,0,0\n"
            )
    return path


def tables_of(asset) -> dict[str, int]:
    """Return the partitions (tableoid) holding the asset's candles, with their counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM price_data WHERE asset_id = %s GROUP BY 1",
            [asset.pk],
        )
        return dict(cursor.fetchall())


def analysed(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_months_of_a_batch_are_the_months_holding_its_times():
    times = [
        datetime(2019, 1, 31, 23, tzinfo=UTC),
        datetime(2019, 2, 1, tzinfo=UTC),
        datetime(2019, 5, 2, tzinfo=UTC),
    ]
    assert months_of(times) == [
        JANUARY_2019,
        datetime(2019, 2, 1, tzinfo=UTC),
        datetime(2019, 5, 1, tzinfo=UTC),
    ]
    assert months_of([]) == []


@pytest.mark.django_db
def test_an_import_of_2019_candles_lands_in_its_months_partitions_not_the_default(tmp_path):
    asset = AssetFactory()
    path = klines_write(tmp_path / "old.csv", datetime(2019, 1, 30, tzinfo=UTC), 72)  # into February

    report = candles_import(path=path, asset=asset, indicators=False)

    assert report.inserted == 72
    assert tables_of(asset) == {"price_data_p201901": 48, "price_data_p201902": 24}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhparent::regclass::text FROM pg_inherits"
            " WHERE inhrelid = 'price_data_p201902'::regclass"
        )
        assert cursor.fetchone() == ("price_data",)


@pytest.mark.django_db
def test_known_months_cost_no_query_once_committed(django_capture_on_commit_callbacks):
    month = datetime(2019, 3, 1, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert month_partitions_ensure(model=PriceData, months=[month]) == ["price_data_p201903"]
    try:
        with CaptureQueriesContext(connection) as queries:
            assert month_partitions_ensure(model=PriceData, months=[month]) == []
        assert len(queries) == 0
    finally:
        partitions.month_forget(model=PriceData, month=month)


@pytest.mark.django_db
def test_a_month_made_in_a_transaction_rolled_back_is_not_remembered():
    month = datetime(2019, 4, 1, tzinfo=UTC)
    assert month_partitions_ensure(model=PriceData, months=[month]) == ["price_data_p201904"]
    # The test's transaction is never committed: the partition goes with it, and so must the cache.
    assert ("price_data", month) not in partitions._known


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_the_same_new_month_both_land_there(tmp_path):
    assets = [AssetFactory(), AssetFactory()]
    start = datetime(2018, 3, 10, tzinfo=UTC)
    paths = [klines_write(tmp_path / f"{n}.csv", start, 100) for n in range(2)]
    barrier, errors, reports = threading.Barrier(2), [], {}

    def run(n: int) -> None:
        try:
            barrier.wait()
            reports[n] = candles_import(path=paths[n], asset=assets[n], indicators=False)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [reports[n].inserted for n in range(2)] == [100, 100]
    assert [tables_of(asset) for asset in assets] == [{"price_data_p201803": 100}] * 2


@pytest.mark.django_db(transaction=True)
def test_a_bulk_import_analyses_the_partitions_it_wrote_as_it_leaves_them(tmp_path, monkeypatch):
    monkeypatch.setattr("cryptopredict.statistics.BULK_ROWS", 50)
    monkeypatch.setattr("assets.services.writing.FIRST_BATCH", 24)
    given = []
    add = BackgroundAnalyzer.add
    monkeypatch.setattr(
        BackgroundAnalyzer, "add", lambda self, table: (given.append(table), add(self, table))
    )
    asset = AssetFactory()
    # 12 hours of May 2018, June, July and 12 hours of August, in batches of 24, then 200 rows.
    path = klines_write(tmp_path / "bulk.csv", datetime(2018, 5, 31, 12, tzinfo=UTC), 24 * 62)

    with CaptureQueriesContext(connection) as queries:
        report = candles_import(path=path, asset=asset, indicators=False, batch_size=200)

    assert report.inserted == 24 * 62
    counts = tables_of(asset)
    assert counts == {
        "price_data_p201805": 12,
        "price_data_p201806": 720,
        "price_data_p201807": 744,
        "price_data_p201808": 12,
    }
    assert {table: analysed(table) for table in counts} == counts
    # May and June in the background once a batch held none of them; the last two at the end,
    # and never the whole table (which would analyse every partition).
    assert given == ["price_data_p201805", "price_data_p201806"]
    assert [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")] == [
        'ANALYZE "price_data_p201807"',
        'ANALYZE "price_data_p201808"',
    ]
