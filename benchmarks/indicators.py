"""Benchmark incremental indicators on PostgreSQL (DATABASE_URL from the environment).

For each series length (default 10,000 and 100,000 one-minute candles): COPY the series into
price_data for a fresh asset, as if its indicators were computed (a clear watermark), append
1,000 candles through the candle service (which notes them on the watermark) and time the
indicator refresh that follows. Printed beside it, the raw database work of the same step in the
same run: reading the warm-up and the new candles and writing 1,000 indicator JSONs with one
UPDATE. Goal (issue 14): the refresh costs about the same whatever the series length (ratio
longest / shortest near 1). Everything it creates is removed at the end.

    .venv/bin/python benchmarks/indicators.py [--sizes 10000,100000] [--append 1000]
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from assets.indicators import WARMUP_CANDLES, indicators_refresh  # noqa: E402
from assets.models import INDICATOR_FIELDS, Asset, IndicatorState  # noqa: E402
from assets.services.writing import candles_upsert  # noqa: E402

START = datetime(2015, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)
SYMBOL_PREFIX = "BENCHIND"


def walk(count: int, seed: int):
    """Yield (open, high, low, close) strings of a random walk."""
    rng = random.Random(seed)
    price = 30000.0
    for _ in range(count):
        close = max(1.0, price * (1 + rng.gauss(0, 0.001)))
        high, low = (
            max(price, close) * (1 + rng.random() / 1000),
            min(price, close) * (1 - rng.random() / 1000),
        )
        yield f"{price:.2f}", f"{high:.2f}", f"{low:.2f}", f"{close:.2f}"
        price = close


def series_load(asset: Asset, count: int) -> None:
    """COPY `count` candles into price_data and record the series as computed."""
    columns = (
        "asset_id, timeframe, candle_time, open_price, high_price, low_price, close_price, volume, "
        "is_validated"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY price_data ({columns}) FROM STDIN") as copy:
        for i, (o, h, lo, c) in enumerate(walk(count, seed=count)):
            stamp = (START + i * STEP).isoformat()
            copy.write(f"{asset.pk}\t1m\t{stamp}\t{o}\t{h}\t{lo}\t{c}\t1\tf\n")
    IndicatorState.objects.create(asset=asset, timeframe="1m")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")


def appended(count: int, offset: int) -> list[dict]:
    """Return `count` candle rows following a series of `offset` candles."""
    return [
        {
            "candle_time": START + (offset + i) * STEP,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": "1",
        }
        for i, (o, h, lo, c) in enumerate(walk(count, seed=-count))
    ]


def raw_step(asset: Asset, offset: int, count: int) -> float:
    """Return the seconds the database takes for the step's own reads and one UPDATE of `count` rows."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, high_price, low_price, close_price, {', '.join(INDICATOR_FIELDS)} FROM price_data "
            "WHERE asset_id = %s AND timeframe = '1m' AND candle_time >= %s ORDER BY candle_time",
            [asset.pk, START + (offset - WARMUP_CANDLES) * STEP],
        )
        ids = [row[0] for row in cursor.fetchall()][-count:]
        row = "(%s, " + ", ".join(["%s::double precision"] * len(INDICATOR_FIELDS)) + ")"
        sets = ", ".join(f"{name} = v.{name}" for name in INDICATOR_FIELDS)
        payload = [50.0 + n for n in range(len(INDICATOR_FIELDS))]
        cursor.execute(
            f"UPDATE price_data AS p SET {sets} FROM (VALUES {', '.join([row] * len(ids))})"
            f" AS v(id, {', '.join(INDICATOR_FIELDS)}) WHERE p.id = v.id",
            [item for pk in ids for item in (pk, *payload)],
        )
    return time.perf_counter() - started


def measure(size: int, append: int) -> tuple[float, float, int]:
    asset = Asset.objects.create(
        symbol=f"{SYMBOL_PREFIX}{os.getpid()}{size}", name="benchmark", asset_type="crypto"
    )
    try:
        series_load(asset, size)
        result = candles_upsert(asset=asset, timeframe="1m", rows=appended(append, size), indicators=False)
        assert result.inserted == append, result
        started = time.perf_counter()
        written = indicators_refresh(asset_id=asset.pk, timeframe="1m")
        seconds = time.perf_counter() - started
        raw = raw_step(asset, size, append)
        return seconds, raw, written
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM price_data WHERE asset_id = %s", [asset.pk])
        asset.delete()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="series lengths, comma-separated")
    parser.add_argument("--append", type=int, default=1000, help="candles appended (default 1,000)")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(f"the benchmark needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    sizes = [int(size) for size in options.sizes.split(",")]
    results = {}
    for size in sizes:
        seconds, raw, written = measure(size, options.append)
        results[size] = seconds
        print(
            f"series of {size:>9,} candles + {options.append:,}: refresh {seconds:.3f} s "
            f"({written:,} candles written); raw reads + UPDATE {raw:.3f} s; "
            f"refresh / raw = {seconds / raw:.1f}",
            flush=True,
        )
    longest, shortest = max(sizes), min(sizes)
    print(f"ratio {longest:,} / {shortest:,} = {results[longest] / results[shortest]:.2f} (goal: about 1)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")


if __name__ == "__main__":
    main()
