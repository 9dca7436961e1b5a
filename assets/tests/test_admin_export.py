"""Changelist exports (django-import-export) keep the list's filters and search; candles stream."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from openpyxl import load_workbook

from assets.models import PriceData
from assets.tests.factories import EPOCH, AssetFactory, PriceDataFactory

pytestmark = pytest.mark.django_db
FORMATS = {"csv": 0, "xlsx": 1, "json": 2}
COLUMNS = ("asset", "timeframe", "candle_time", "close_price", "volume")  # in the resource's order


def export(client, fmt: str, query: str = ""):
    url = reverse("admin:assets_pricedata_export") + query
    form = {"format": FORMATS[fmt], **{f"pricedataresource_{name}": "on" for name in COLUMNS}}
    return client.post(url, form)


@pytest.fixture
def candles():
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    for day in range(3):
        PriceDataFactory(
            asset=btc,
            candle_time=EPOCH + timedelta(days=day),
            high_price=Decimal("99000"),
            close_price=Decimal("97457.5"),
        )
        PriceDataFactory(asset=eth, candle_time=EPOCH + timedelta(days=day))
    PriceDataFactory(asset=btc, timeframe="1h", candle_time=EPOCH)
    return btc


def test_csv_export_streams_the_filtered_rows_with_symbols_and_plain_numbers(admin_client, candles):
    response = export(admin_client, "csv", f"?asset__id__exact={candles.pk}&timeframe__exact=1d")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].startswith('attachment; filename="PriceData-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["asset"] for row in rows] == ["BTC"] * 3
    assert {row["timeframe"] for row in rows} == {"1d"}
    assert rows[0]["close_price"] == "97457.5" and rows[0]["candle_time"] == "2024-01-03T00:00:00+00:00"
    assert list(rows[0]) == list(COLUMNS)


def test_search_and_json_and_xlsx(admin_client, candles):
    response = export(admin_client, "json", "?q=ETH")
    rows = json.loads(b"".join(response.streaming_content))
    assert len(rows) == 3 and {row["asset"] for row in rows} == {"ETH"}

    response = export(admin_client, "xlsx", "?q=BTC&timeframe__exact=1h")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        list(COLUMNS),
        ["BTC", "1h", "2024-01-01T00:00:00+00:00", "105", "1234.5"],
    ]


def test_every_changelist_offers_export(admin_client, candles):
    page = admin_client.get(reverse("admin:assets_asset_changelist")).content.decode()
    assert reverse("admin:assets_asset_export") in page
    assert PriceData.objects.count() == 7
