"""The indicators' storage: one double column each, answered as one object, migrated from the JSON."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from rest_framework.test import APIClient

from assets.indicators import INDICATOR_KEYS, indicator_frame
from assets.models import INDICATOR_FIELDS, PriceData, PriceDataArchive
from assets.tests.factories import PriceDataArchiveFactory, PriceDataFactory
from users.tests.factories import UserFactory

BEFORE = ("assets", "0006_db_defaults")
AFTER = ("assets", "0007_indicator_columns")


def test_the_columns_are_the_computed_indicators():
    assert INDICATOR_FIELDS == INDICATOR_KEYS == tuple(indicator_frame([1.0], [1.0], [1.0]))
    for model in (PriceData, PriceDataArchive):
        columns = {f.name: f for f in model._meta.concrete_fields}
        assert all(
            columns[name].null and columns[name].get_internal_type() == "FloatField"
            for name in INDICATOR_FIELDS
        )
        assert "technical_indicators" not in columns


@pytest.mark.django_db
def test_the_api_answers_the_indicators_as_one_object_of_those_present():
    candle = PriceDataFactory(rsi_14=55.5, sma_20=101.25)
    bare = PriceDataFactory()
    archived = PriceDataArchiveFactory(atr_14=3.5)
    client = APIClient()
    client.force_authenticate(UserFactory(role="admin"))

    body = client.get(reverse("api:pricedata-detail", args=[candle.pk])).json()
    assert body["technical_indicators"] == {"rsi_14": 55.5, "sma_20": 101.25}
    assert not set(INDICATOR_FIELDS) & set(body)
    assert client.get(reverse("api:pricedata-detail", args=[bare.pk])).json()["technical_indicators"] == {}
    body = client.get(reverse("api:pricedataarchive-detail", args=[archived.pk])).json()
    assert body["technical_indicators"] == {"atr_14": 3.5}
    listed = client.get(reverse("api:pricedata-list")).json()["results"]
    assert {"rsi_14": 55.5, "sma_20": 101.25} in [row["technical_indicators"] for row in listed]


def _migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _migrate_to_latest() -> None:
    """Migrate every app forward again: going back to BEFORE unapplied the later migrations too."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_json_into_the_columns_and_back():
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO assets (symbol, name, asset_type, is_active, access_count, is_supported, "
                "data_quality_score, data_source, created_at, updated_at) "
                "VALUES ('MIG', 'Migrated', 'crypto', true, 0, true, 100, 'test', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
            cursor.execute("SELECT id FROM assets WHERE symbol = 'MIG'")
            asset_id = cursor.fetchone()[0]
            indicators = [
                '{"rsi_14": 61.5, "ema_200": 20500.125, "atr_14": 3}',
                '{"rsi_14": "not a number", "kept": 1, "sma_20": null}',
                "{}",
                None,
            ]
            for day, values in enumerate(indicators, start=1):
                cursor.execute(
                    "INSERT INTO price_data (asset_id, timeframe, candle_time, open_price, high_price, "
                    "low_price, close_price, volume, technical_indicators, is_validated, is_price_point, "
                    "created_at, updated_at) VALUES (%s, '1d', %s, 1, 1, 1, 1, 0, %s, false, false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                    [asset_id, f"2024-01-0{day}T00:00:00Z", values],
                )
        _migrate(AFTER)
        rows = PriceData.objects.filter(asset_id=asset_id).order_by("candle_time")
        assert [row.technical_indicators for row in rows] == [
            {"rsi_14": 61.5, "ema_200": 20500.125, "atr_14": 3.0},
            {},
            {},
            {},
        ]
        _migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT technical_indicators FROM price_data WHERE asset_id = %s ORDER BY candle_time",
                [asset_id],
            )
            back = [value if isinstance(value, dict) else json.loads(value) for (value,) in cursor]
        assert back == [{"rsi_14": 61.5, "ema_200": 20500.125, "atr_14": 3}, {}, {}, {}]
    finally:
        _migrate_to_latest()
