"""Bulk writes of candles gather the planner's statistics at once (ANALYZE), not at the next autovacuum."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.services.archiving import candles_archive
from assets.services.importing import candles_import
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
