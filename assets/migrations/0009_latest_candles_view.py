"""The latest candle of each asset and timeframe: a materialized view on PostgreSQL, refreshed
concurrently through its unique index (cryptopredict.aggregates), and a plain view elsewhere.

On PostgreSQL each (asset, timeframe) reads one entry of the unique (asset, timeframe,
candle_time) index: a refresh costs assets x timeframes index probes, not a scan of the table.
"""

from django.db import migrations, models

# Frozen here: a new timeframe needs a migration that recreates the view (assets/tests checks it).
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d", "1w", "1M")
VALUES = ", ".join(f"('{tf}')" for tf in TIMEFRAMES)

CREATE = {
    "postgresql": [
        f"""
        CREATE MATERIALIZED VIEW latest_candles AS
        SELECT a.id AS asset_id, tf.timeframe::varchar(3) AS timeframe, c.candle_time, c.close_price
        FROM assets a
        CROSS JOIN (VALUES {VALUES}) AS tf (timeframe)
        CROSS JOIN LATERAL (
            SELECT p.candle_time, p.close_price FROM price_data p
            WHERE p.asset_id = a.id AND p.timeframe = tf.timeframe
            ORDER BY p.candle_time DESC LIMIT 1
        ) AS c
        """,
        "CREATE UNIQUE INDEX latest_candles_key ON latest_candles (asset_id, timeframe)",
    ],
    "default": [
        f"""
        CREATE VIEW latest_candles AS
        SELECT p.asset_id, p.timeframe, p.candle_time, p.close_price
        FROM assets a
        CROSS JOIN (VALUES {VALUES}) AS tf
        JOIN price_data p ON p.asset_id = a.id AND p.timeframe = tf.column1 AND p.candle_time = (
            SELECT MAX(q.candle_time) FROM price_data q WHERE q.asset_id = a.id AND q.timeframe = tf.column1
        )
        """,
    ],
}
DROP = {
    "postgresql": ["DROP MATERIALIZED VIEW IF EXISTS latest_candles"],
    "default": ["DROP VIEW IF EXISTS latest_candles"],
}


def run(statements):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, statements["default"]):
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0008_partition_candles"),
    ]

    operations = [
        migrations.CreateModel(
            name="LatestCandle",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "asset", "timeframe", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "timeframe",
                    models.CharField(
                        choices=[
                            ("1m", "1 minute"),
                            ("5m", "5 minutes"),
                            ("15m", "15 minutes"),
                            ("1h", "1 hour"),
                            ("4h", "4 hours"),
                            ("1d", "1 day"),
                            ("1w", "1 week"),
                            ("1M", "1 month"),
                        ],
                        max_length=3,
                    ),
                ),
                ("candle_time", models.DateTimeField()),
                ("close_price", models.DecimalField(decimal_places=18, max_digits=38)),
            ],
            options={"db_table": "latest_candles", "ordering": ["asset", "timeframe"], "managed": False},
        ),
        migrations.RunPython(run(CREATE), run(DROP), elidable=False),
    ]
