"""Benchmark archiving a month of 1m candles on PostgreSQL (DATABASE_URL from the environment).

    .venv/bin/python benchmarks/archive.py [--assets 20] [--month 2020-03]

Writes a month of one-minute candles for `--assets` assets into price_data (its own monthly
partition), then moves it to price_data_archive twice, each time from the same starting point:

(a) raw SQL: one statement that deletes the month's rows from price_data and inserts them into
    the archive (what moving them costs without partitions, set-based, no batches);
(b) the product: `candles_archive`, which moves the month's partition whole (detach, attach).

Prints both times and their ratio; everything it creates is deleted at the end.
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from assets.choices import AssetType  # noqa: E402
from assets.models import Asset, PriceData, PriceDataArchive  # noqa: E402
from assets.selectors import candle_partitions  # noqa: E402
from assets.services.archiving import archive_columns, candles_archive  # noqa: E402
from assets.services.partitions import month_next, month_partition_ensure, partition_name  # noqa: E402

PREFIX = "ARCHB"


def build(count: int, month: datetime) -> list[Asset]:
    """Create `count` assets and a month of 1m candles for each, by SQL (the move is measured, not this)."""
    assets = [
        Asset.objects.create(
            symbol=f"{PREFIX}{i:02d}", name=f"Archive bench {i}", asset_type=AssetType.CRYPTO
        )
        for i in range(count)
    ]
    month_partition_ensure(model=PriceData, month=month)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO price_data (asset_id, timeframe, candle_time, open_price, high_price, low_price,"
            " close_price, volume, technical_indicators, is_validated)"
            " SELECT a, '1m', t, 100 + m, 101 + m, 99 + m, 100.5 + m, 10 + m, '{}'::jsonb, false"
            " FROM unnest(%s::bigint[]) a, generate_series(%s::timestamptz,"
            " %s::timestamptz - interval '1 minute', interval '1 minute') t,"
            " LATERAL (SELECT (extract(epoch FROM t)::bigint %% 97)::numeric AS m) v",
            [[a.pk for a in assets], month, month_next(month)],
        )
        cursor.execute("VACUUM ANALYZE price_data")
    return assets


def raw_move(month: datetime) -> tuple[float, int]:
    """Return the seconds and rows of moving the month by one DELETE ... RETURNING into an INSERT."""
    columns = ", ".join(archive_columns())
    month_partition_ensure(model=PriceDataArchive, month=month)  # the rows go to their month, not DEFAULT
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"WITH moved AS (DELETE FROM price_data WHERE candle_time >= %s AND candle_time < %s"
            f" RETURNING {columns}) INSERT INTO price_data_archive ({columns}) SELECT {columns} FROM moved",
            [month, month_next(month)],
        )
        rows = cursor.rowcount
    return time.perf_counter() - started, rows


def restore(month: datetime) -> None:
    """Put the month back into price_data's partition and leave the archive without it."""
    columns = ", ".join(archive_columns())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"WITH back AS (DELETE FROM price_data_archive WHERE candle_time >= %s AND candle_time < %s"
            f" RETURNING {columns}) INSERT INTO price_data ({columns}) SELECT {columns} FROM back",
            [month, month_next(month)],
        )
        cursor.execute(f"DROP TABLE {partition_name(PriceDataArchive, month)}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=20, help="assets (default 20)")
    parser.add_argument("--month", default="2020-03", help="the month to build and move (default 2020-03)")
    options = parser.parse_args()
    if connection.vendor != "postgresql" or not candle_partitions(model=PriceData):
        raise SystemExit("the benchmark needs PostgreSQL with the partitioned candle tables (migrate first)")
    month = datetime.strptime(options.month, "%Y-%m").replace(tzinfo=UTC)
    older = PriceData.objects.filter(candle_time__lt=month_next(month)).exists()
    if (
        older
        or PriceDataArchive.objects.filter(candle_time__gte=month, candle_time__lt=month_next(month)).exists()
    ):
        raise SystemExit(
            f"the database already holds candles up to {options.month}: choose an earlier --month"
        )
    assets = build(options.assets, month)
    try:
        rows = PriceData.objects.filter(candle_time__gte=month, candle_time__lt=month_next(month)).count()
        print(f"a month of 1m candles for {len(assets)} assets: {rows:,} rows ({options.month})")
        raw_seconds, raw_rows = raw_move(month)
        print(f"(a) raw SQL, one DELETE ... RETURNING into INSERT: {raw_seconds:6.2f} s ({raw_rows:,} rows)")
        restore(month)
        older_than = timezone.now() - month_next(month)
        started = time.perf_counter()
        moved = candles_archive(older_than=older_than)
        seconds = time.perf_counter() - started
        print(f"(b) candles_archive, by partition:                 {seconds:6.2f} s ({moved:,} rows)")
        kept = PriceDataArchive.objects.filter(asset__in=assets).count()
        print(f"ratio (b)/(a): {seconds / raw_seconds:.3f}; rows in the archive afterwards: {kept:,}")
        if moved != rows or kept != rows:
            raise SystemExit("rows went missing: the benchmark's figures are void")
    finally:
        with connection.cursor() as cursor:
            for model in (PriceData, PriceDataArchive):
                # The month held the benchmark's candles only (checked above): its partitions go too.
                cursor.execute(f"DROP TABLE IF EXISTS {partition_name(model, month)}")
                cursor.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE asset_id = ANY(%s)", [[a.pk for a in assets]]
                )
        Asset.objects.filter(pk__in=[a.pk for a in assets]).delete()


if __name__ == "__main__":
    main()
