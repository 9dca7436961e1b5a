"""Move the candles' indicators from the technical_indicators JSON into one double column each.

A candle without indicators then stores nothing for them but null-bitmap bits, one with all of
them 120 bytes instead of ~429 of JSON. A JSON value that is not a number is dropped (the next
refresh computes it again); keys that are no indicator were never read.
"""

from django.db import migrations, models

INDICATORS = (
    "rsi_14",
    "sma_20",
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "ema_200",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "volatility_30",
)
TABLES = ("price_data", "price_data_archive")


def _forward_sql(vendor: str, table: str) -> str:
    if vendor == "postgresql":
        value = (
            "CASE WHEN jsonb_typeof(technical_indicators -> '{0}') = 'number' "
            "THEN (technical_indicators ->> '{0}')::double precision END"
        )
        empty = "technical_indicators IS NULL OR technical_indicators = '{}'::jsonb"
    else:
        value = (
            "CASE WHEN json_type(technical_indicators, '$.{0}') IN ('integer', 'real') "
            "THEN json_extract(technical_indicators, '$.{0}') END"
        )
        empty = "technical_indicators IS NULL OR technical_indicators IN ('{}', 'null')"
    sets = ", ".join(f"{name} = {value.format(name)}" for name in INDICATORS)
    return f"UPDATE {table} SET {sets} WHERE NOT ({empty})"


def _backward_sql(vendor: str, table: str) -> str:
    if vendor == "postgresql":
        pairs = ", ".join(f"'{name}', {name}" for name in INDICATORS)
        return f"UPDATE {table} SET technical_indicators = jsonb_strip_nulls(jsonb_build_object({pairs}))"
    pairs = ", ".join(f"'{name}', {name}" for name in INDICATORS)
    # json_object keeps nulls: json_patch against '{}' drops them.
    return f"UPDATE {table} SET technical_indicators = json_patch('{{}}', json_object({pairs}))"


def columns_fill(apps, schema_editor):
    for table in TABLES:
        schema_editor.execute(_forward_sql(schema_editor.connection.vendor, table))


def json_fill(apps, schema_editor):
    for table in TABLES:
        schema_editor.execute(_backward_sql(schema_editor.connection.vendor, table))


def _indicator():
    return models.FloatField(blank=True, editable=False, null=True)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0006_db_defaults"),
    ]

    operations = [
        *(
            migrations.AddField(model_name=model, name=name, field=_indicator())
            for model in ("pricedata", "pricedataarchive")
            for name in INDICATORS
        ),
        migrations.RunPython(columns_fill, json_fill, elidable=False),
        migrations.RemoveField(model_name="pricedata", name="technical_indicators"),
        migrations.RemoveField(model_name="pricedataarchive", name="technical_indicators"),
    ]
