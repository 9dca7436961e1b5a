"""Justify each index on price_data by the query that uses it (PostgreSQL; DATABASE_URL from the environment).

    .venv/bin/python benchmarks/indexes.py [--rows 2000000] [--assets 20]

Fills price_data with about `--rows` candles of `--assets` new assets by SQL (generate_series;
a fifth of the assets in 1h candles over the same span), then, for each index, runs the query
that needs it with EXPLAIN ANALYZE as is and with that index dropped (in a transaction rolled
back), and prints both times, whether the plan used the index, and the index's size.
docs/indexes.md records a run.
Everything it creates is deleted at the end.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

PREFIX = "IDXB"
# index -> (what needs it, the query; %(asset)s is one benchmark asset's id)
QUERIES = {
    "unique_asset_timeframe_candle": (
        "a candle range of one series (candles API, charts, indicators, upserts' ON CONFLICT)",
        "SELECT * FROM price_data WHERE asset_id = %(asset)s AND timeframe = '1m'"
        " AND candle_time >= '2024-01-02' ORDER BY candle_time LIMIT 1000",
    ),
    "idx_price_data_candle_time": (
        "the admin's and price-data/'s unfiltered list, newest first; archiving's cut-off",
        "SELECT * FROM price_data ORDER BY candle_time DESC LIMIT 100",
    ),
    "idx_price_data_tf_time": (
        "lists filtered by timeframe, newest first (admin filter, ?timeframe=)",
        "SELECT * FROM price_data WHERE timeframe = '1h' ORDER BY candle_time DESC LIMIT 100",
    ),
    "idx_price_data_volume": (
        "the unfiltered list sorted by volume (admin sort header, ?ordering=-volume)",
        "SELECT * FROM price_data ORDER BY volume DESC LIMIT 100",
    ),
}


def fill(rows: int, assets: int) -> list[int]:
    """Insert the benchmark candles by SQL; return the assets' ids."""
    per_asset = rows // assets
    ids = []
    with connection.cursor() as cursor:
        for n in range(assets):
            cursor.execute(
                "INSERT INTO assets (symbol, name, asset_type, is_active, access_count, is_supported,"
                " data_quality_score, data_source, created_at, updated_at)"
                " VALUES (%s, 'index benchmark', 'crypto', true, 0, true, 100, 'bench', now(), now())"
                " RETURNING id",
                [f"{PREFIX}{os.getpid()}{n:02d}"],
            )
            ids.append(cursor.fetchone()[0])
        for n, asset in enumerate(ids):
            # The hourly series span the same time as the minute ones, as in a real table.
            timeframe, step, count = (
                ("1h", "1 hour", per_asset // 60) if n % 5 == 4 else ("1m", "1 minute", per_asset)
            )
            cursor.execute(
                "INSERT INTO price_data (asset_id, timeframe, candle_time, open_price, high_price, low_price,"
                " close_price, volume, is_validated, is_price_point, created_at, updated_at)"
                " SELECT %s, %s, timestamptz '2024-01-01' + i * %s::interval, 100, 101, 99, 100,"
                " random() * 1000, false, false, now(), now() FROM generate_series(0, %s - 1) AS i",
                [asset, timeframe, step, count],
            )
        cursor.execute("ANALYZE price_data")
    return ids


def explain(sql: str, index: str) -> tuple[float, bool, str]:
    """Return the query's execution time in ms, whether its plan uses `index`, and the plan's top node."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    text = str(plan)
    return plan["Execution Time"], f"'{index}'" in text, plan["Plan"]["Node Type"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="candles to build (default 2,000,000)")
    parser.add_argument("--assets", type=int, default=20, help="assets sharing them (default 20)")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(f"the benchmark needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    started = time.perf_counter()
    ids = fill(options.rows, options.assets)
    print(f"{options.rows:,} candles of {options.assets} assets in {time.perf_counter() - started:.0f} s")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index"
                " WHERE indrelid = 'price_data'::regclass"
            )
            sizes = dict(cursor.fetchall())
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'price_data'")
            total = max(cursor.fetchone()[0], 1)
        for name in sorted(sizes):
            if name not in QUERIES:
                print(f"\n{name}: {sizes[name] / total:.0f} B/candle; no query of its own (the primary key)")
                continue
            purpose, sql = QUERIES[name]
            sql = sql % {"asset": ids[0]}
            explain(sql, name)  # warm the cache
            with_index, used, node = explain(sql, name)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"ALTER TABLE price_data DROP CONSTRAINT IF EXISTS {name}")
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
                explain(sql, name)
                without, _, node_without = explain(sql, name)
                transaction.set_rollback(True)
            print(f"\n{name}: {sizes[name] / total:.0f} B/candle; {purpose}")
            print(f"  {sql}")
            print(
                f"  with it: {with_index:.1f} ms ({node}{', through it' if used else ', NOT through it'});"
                f" without: {without:.1f} ms ({node_without})"
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM price_data WHERE asset_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM assets WHERE id = ANY(%s)", [ids])
            cursor.execute("VACUUM ANALYZE price_data")


if __name__ == "__main__":
    main()
