"""Each sector's day with its share of the sectors' market cap (the rotation graph's RS), over
the daily SectorHistory rows with a market cap: a materialized view on PostgreSQL, refreshed
concurrently through its unique index (cryptopredict.aggregates), and a plain view elsewhere.
"""

from django.db import migrations, models

# SQLite keeps a whole decimal as an integer: its division would be an integer one without the cast.
SHARE = {
    "postgresql": "CAST(h.total_market_cap / SUM(h.total_market_cap) OVER w AS double precision)",
    "default": "CAST(h.total_market_cap AS REAL) / SUM(h.total_market_cap) OVER w",
}
SELECT = """
    SELECT h.sector_id, h.snapshot_time, h.total_market_cap, h.total_volume_24h, h.asset_count,
        SUM(h.total_market_cap) OVER w AS sectors_market_cap,
        {share} AS market_share
    FROM sector_history h
    WHERE h.timeframe = '1d' AND h.total_market_cap > 0
    WINDOW w AS (PARTITION BY h.snapshot_time)
"""
CREATE = {
    "postgresql": [
        "CREATE MATERIALIZED VIEW sector_daily AS " + SELECT.format(share=SHARE["postgresql"]),
        "CREATE UNIQUE INDEX sector_daily_key ON sector_daily (sector_id, snapshot_time)",
        "CREATE INDEX sector_daily_time ON sector_daily (snapshot_time)",
    ],
    "default": ["CREATE VIEW sector_daily AS " + SELECT.format(share=SHARE["default"])],
}
DROP = {
    "postgresql": ["DROP MATERIALIZED VIEW IF EXISTS sector_daily"],
    "default": ["DROP VIEW IF EXISTS sector_daily"],
}


def run(statements):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, statements["default"]):
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("sectors", "0005_db_defaults"),
    ]

    operations = [
        migrations.CreateModel(
            name="SectorDaily",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "sector",
                        "snapshot_time",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("snapshot_time", models.DateTimeField()),
                ("total_market_cap", models.DecimalField(decimal_places=2, max_digits=30)),
                ("total_volume_24h", models.DecimalField(decimal_places=2, max_digits=30, null=True)),
                ("asset_count", models.IntegerField()),
                (
                    "sectors_market_cap",
                    models.DecimalField(
                        decimal_places=2, help_text="Of every sector that day.", max_digits=32
                    ),
                ),
                (
                    "market_share",
                    models.FloatField(help_text="total_market_cap / sectors_market_cap: the rotation's RS."),
                ),
            ],
            options={
                "verbose_name_plural": "sector days",
                "db_table": "sector_daily",
                "ordering": ["snapshot_time", "sector"],
                "managed": False,
            },
        ),
        migrations.RunPython(run(CREATE), run(DROP), elidable=False),
    ]
