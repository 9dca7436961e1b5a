"""Bulk writes of candles gather the planner's statistics at once (ANALYZE), not at the next autovacuum."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.models import PriceData
from assets.services.archiving import candles_archive
from assets.services.importing import candles_import
from assets.services.partitions import month_start, parent_statistics_refresh, partition_name
from assets.tasks import candle_partitions_task
from assets.tests.factories import AssetFactory, PriceDataFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

KLINES = Path(__file__).parent / "fixtures" / "nautilus_ADABTC-1m-2021-11-27.csv"


def reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_an_import_of_many_rows_is_analyzed(monkeypatch):
    asset = AssetFactory(symbol="ADABTC")
    monkeypatch.setattr("cryptopredict.statistics.BULK_ROWS", 20)
    with CaptureQueriesContext(connection) as queries:
        candles_import(path=KLINES, asset=asset)  # 10 rows: below the bulk size
    assert not [q for q in queries if q["sql"].startswith("ANALYZE")]

    monkeypatch.setattr("cryptopredict.statistics.BULK_ROWS", 10)
    PriceDataFactory.create_batch(5)
    with CaptureQueriesContext(connection) as queries:
        candles_import(path=KLINES, asset=AssetFactory(symbol="ADABTC2"))
    # The partition written, not the whole table: ANALYZE price_data would analyse every partition.
    assert [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")] == ['ANALYZE "price_data_p202111"']
    assert reltuples("price_data_p202111") == 20


def test_an_archive_run_analyzes_both_tables():
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    asset = AssetFactory()
    for days in (400, 401, 402, 1):
        PriceDataFactory(asset=asset, candle_time=today - timedelta(days=days))

    assert candles_archive(older_than=timedelta(days=365)) == 3
    assert (reltuples("price_data"), reltuples("price_data_archive")) == (1, 3)


def test_the_daily_task_analyses_a_partitioned_table_when_its_partitions_grew_by_a_tenth():
    month = month_start(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")
    assert parent_statistics_refresh(model=PriceData) is False  # just analysed
    asset = AssetFactory()
    for hour in range(10):
        PriceDataFactory(asset=asset, timeframe="1h", candle_time=month + timedelta(hours=hour))
    before = reltuples("price_data")
    with connection.cursor() as cursor:  # as an import does: its partition only
        cursor.execute(f"ANALYZE {partition_name(PriceData, month)}")
    assert reltuples("price_data") == before

    assert candle_partitions_task() == []
    assert reltuples("price_data") == before + 10
    assert parent_statistics_refresh(model=PriceData) is False
