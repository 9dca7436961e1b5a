"""Changelists in a real browser: a filtered export downloads the filtered rows; a candle table of
a million rows lists without COUNT(*)."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from assets.models import PriceData
from assets.tests.factories import EPOCH, AssetFactory, PriceDataFactory

# End to end in a real browser: PostgreSQL only (the production database), to keep the suite fast.
pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def server_queries():
    """Record the SQL of every connection opened from now on (the live server opens its own)."""
    queries = []

    def record(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    def attach(sender, connection, **kwargs):
        connection.execute_wrappers.append(record)

    connection_created.connect(attach)
    yield queries
    connection_created.disconnect(attach)


def test_filtered_candle_export_downloads_the_filtered_rows(page):
    btc, eth = AssetFactory(symbol="BTC", name="Bitcoin"), AssetFactory(symbol="ETH", name="Ether")
    for day in range(4):
        PriceDataFactory(asset=btc, candle_time=EPOCH + timedelta(days=day))
        PriceDataFactory(asset=eth, candle_time=EPOCH + timedelta(days=day))
    PriceDataFactory(asset=btc, timeframe="1h", candle_time=EPOCH)

    page.goto(f"{page.base_url}/admin/assets/pricedata/?timeframe__exact=1d")
    # Pick the asset in the autocomplete filter, as a person would.
    page.click(".autocomplete-filter .select2-selection")
    page.fill(".select2-search__field", "bitc")
    page.click(".select2-results__option:has-text('BTC')")
    page.wait_for_url(f"**asset__id__exact={btc.pk}**")
    assert page.locator("#result_list tbody tr").count() == 4

    page.click("a.export_link")
    page.select_option("#id_format", label="csv")
    with page.expect_download() as download:
        page.click("#export-form input[type=submit], form input[type=submit][value='Submit']")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 4
    assert {(row["asset"], row["timeframe"]) for row in rows} == {("BTC", "1d")}


def test_million_candle_changelist_renders_without_count(page, server_queries):
    asset = AssetFactory(symbol="BTC")
    PriceData.objects.bulk_create(
        PriceDataFactory.build(asset=asset, timeframe="1m", candle_time=EPOCH + timedelta(minutes=i))
        for i in range(200)
    )
    # The statistics of a table of a million candles: inserting them takes about a minute here.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")
        cursor.execute(
            "UPDATE pg_class SET reltuples = 1000000,"
            " relpages = GREATEST(pg_relation_size(oid) / current_setting('block_size')::int, 1)"
            # The partition holding the candles (price_data is partitioned by month on PostgreSQL).
            " WHERE oid = (SELECT tableoid FROM price_data LIMIT 1)"
        )

    page.goto(f"{page.base_url}/admin/assets/pricedata/")

    assert page.locator("#result_list tbody tr").count() == 50
    assert "1,000,000" in page.inner_text(".paginator") or "1000000" in page.inner_text(".paginator")
    candle_queries = [sql for sql in server_queries if "price_data" in sql]
    assert candle_queries, "the live server's queries were not recorded"
    assert not [sql for sql in candle_queries if "COUNT(" in sql.upper()], candle_queries
