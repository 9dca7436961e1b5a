"""latest_candles finds each series' latest candle with one probe of the unique index per partition.

The view of 0009 asked each (asset, timeframe) for `ORDER BY candle_time DESC LIMIT 1` under
`asset_id = a.id AND timeframe = tf`. For a series with no candles where other assets have that
timeframe, PostgreSQL walked every partition's candle_time index backwards through all of them
(its plan for the lateral probe is generic): 25 s for 4 assets and 1.5M candles, hours at 10M,
on every refresh. The row comparison below is served only by the unique (asset_id, timeframe,
candle_time) index, whose backward scan stops at the first entry at or below the series' end:
its latest candle, or another series' row, which the outer condition drops. SQLite keeps 0009's
plain view.
"""

from django.db import migrations

# As in 0009: a new timeframe needs a migration that recreates the view.
TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d", "1w", "1M")
VALUES = ", ".join(f"('{tf}')" for tf in TIMEFRAMES)

PROBE = f"""
    CREATE MATERIALIZED VIEW latest_candles AS
    SELECT a.id AS asset_id, tf.timeframe::varchar(3) AS timeframe, c.candle_time, c.close_price
    FROM assets a
    CROSS JOIN (VALUES {VALUES}) AS tf (timeframe)
    CROSS JOIN LATERAL (
        SELECT p.asset_id, p.timeframe, p.candle_time, p.close_price FROM price_data p
        WHERE (p.asset_id, p.timeframe, p.candle_time) <= (a.id, tf.timeframe, 'infinity')
        ORDER BY p.asset_id DESC, p.timeframe DESC, p.candle_time DESC LIMIT 1
    ) AS c
    WHERE c.asset_id = a.id AND c.timeframe = tf.timeframe
"""
ORDERED = f"""
    CREATE MATERIALIZED VIEW latest_candles AS
    SELECT a.id AS asset_id, tf.timeframe::varchar(3) AS timeframe, c.candle_time, c.close_price
    FROM assets a
    CROSS JOIN (VALUES {VALUES}) AS tf (timeframe)
    CROSS JOIN LATERAL (
        SELECT p.candle_time, p.close_price FROM price_data p
        WHERE p.asset_id = a.id AND p.timeframe = tf.timeframe
        ORDER BY p.candle_time DESC LIMIT 1
    ) AS c
"""
KEY = "CREATE UNIQUE INDEX latest_candles_key ON latest_candles (asset_id, timeframe)"
DROP = "DROP MATERIALIZED VIEW latest_candles"


def run(create):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in (DROP, create, KEY):
                schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0009_latest_candles_view"),
    ]

    operations = [migrations.RunPython(run(PROBE), run(ORDERED), elidable=False)]
