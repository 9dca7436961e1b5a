"""Benchmark candle ingestion on PostgreSQL (`make bench`; DATABASE_URL from the environment).

Generates N one-minute candles (a random walk) as a Binance kline CSV, then times:
  (a) a raw COPY of the same rows (the values the import stores, its VWAP included) from a file of
      COPY text into an empty copy of price_data (same indexes and checks, partitioned by month as
      price_data is on PostgreSQL; psycopg's copy, read from the file in 1 MB pieces): the
      database's own speed, the baseline,
  (b) import_candles of the file for a fresh asset (a subprocess: its own peak memory is measured;
      the time and memory of starting Django, measured with `import_candles --help`, are left out),
      with --no-indicators, as the COPY of (a) computes none either (benchmarks/indicators.py
      measures the indicator refresh),
  (c) the same import again (every row conflicts, nothing changes),
  (d) the bulk_create path on the first 100,000 rows,
and prints rows/s, the ratios b/a and b/d and the peak memory of (b) against the targets.
(a) and (b) run in turn `--rounds` times (each round's import into months emptied again), and b/a
is the ratio of their median times: on a shared 2-core VM one COPY of a million rows took
anywhere from 21 to 29 s minutes apart, more than the difference being measured.
The candles' months get their partitions of price_data first (as `create_partitions` gives them),
so both (a) and (b) route rows into monthly partitions. Each timed step starts after a CHECKPOINT,
so that none pays for the dirty pages and WAL of the step before it. Everything it creates
(tables, partitions, assets, candles, files) is removed at the end.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cryptopredict.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from assets.importers import read_candles  # noqa: E402
from assets.models import Asset, PriceData  # noqa: E402
from assets.services.partitions import (  # noqa: E402
    is_partitioned,
    month_next,
    month_partition_ensure,
    month_start,
)
from assets.services.writing import candles_upsert  # noqa: E402

BULK_ROWS = 100_000
START_MS = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
TARGETS = {"b/a": 0.80, "b/d": 5.0, "peak_mb": 300}  # issue 14: import at 0.8 of a file COPY
SYMBOL_PREFIX = "BENCH"


def candles_generate(rows: int, csv_path: Path, copy_path: Path, asset_id: int) -> None:
    """Write `rows` 1m candles as a Binance CSV and as COPY text for price_data's columns."""
    rng = random.Random(42)
    price = 3_000_000  # cents
    with csv_path.open("w") as csv_file, copy_path.open("w") as copy_file:
        for i in range(rows):
            open_ms = START_MS + i * 60_000
            close = max(100, round(price * (1 + rng.gauss(0, 0.0008))))
            high = max(price, close) + rng.randint(0, 400)
            low = max(1, min(price, close) - rng.randint(0, 400))
            volume = rng.randint(1, 5_000_000_000)  # 1e-8 units
            trades = rng.randint(1, 3000)
            o, h, lo, c = (f"{v // 100}.{v % 100:02d}" for v in (price, high, low, close))
            vol = f"{volume // 10**8}.{volume % 10**8:08d}"
            quote = f"{volume * (price + close) // 2 // 10**8 / 100:.8f}"
            csv_file.write(f"{open_ms},{o},{h},{lo},{c},{vol},{open_ms + 59_999},{quote},{trades},0,0,0\n")
            stamp = datetime.fromtimestamp(open_ms / 1000, UTC).isoformat()
            # The VWAP as the import derives it (quote volume over base volume; the column rounds it).
            vwap = Decimal(quote) / Decimal(vol)
            copy_file.write(f"{asset_id}\t1m\t{stamp}\t{o}\t{h}\t{lo}\t{c}\t{vol}\t{trades}\t{vwap}\tf\n")
            price = close


def months_of(rows: int) -> list[datetime]:
    """Return the first day of every month the benchmark's `rows` 1m candles fall in."""
    month = month_start(datetime.fromtimestamp(START_MS / 1000, UTC))
    last = datetime.fromtimestamp((START_MS + (rows - 1) * 60_000) / 1000, UTC)
    months = []
    while month <= last:
        months.append(month)
        month = month_next(month)
    return months


def raw_copy(copy_path: Path, months: list[datetime]) -> float:
    """Return the seconds taken to COPY the prepared rows into an empty copy of price_data.

    The copy is partitioned as price_data is on PostgreSQL (by month of candle_time, a partition
    for each month of the rows and a DEFAULT one), so that the COPY routes rows to partitions as
    the import's does: like is compared with like.
    """
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_price_data")
        partitioned = is_partitioned(PriceData)
        by = " PARTITION BY RANGE (candle_time)" if partitioned else ""
        cursor.execute(f"CREATE TABLE bench_price_data (LIKE price_data INCLUDING ALL){by}")
        if partitioned:
            for month in months:
                cursor.execute(
                    f"CREATE TABLE bench_price_data_p{month:%Y%m} PARTITION OF bench_price_data"
                    " FOR VALUES FROM (%s) TO (%s)",
                    [month, month_next(month)],
                )
            cursor.execute("CREATE TABLE bench_price_data_default PARTITION OF bench_price_data DEFAULT")
        # LIKE copies every constraint but the foreign key; price_data checks its asset, so does this.
        cursor.execute(
            "ALTER TABLE bench_price_data ADD FOREIGN KEY (asset_id) REFERENCES assets (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
    columns = (
        "asset_id, timeframe, candle_time, open_price, high_price, low_price, close_price, volume, "
        "trade_count, vwap, is_validated"
    )
    started = time.perf_counter()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY bench_price_data ({columns}) FROM STDIN") as copy, copy_path.open() as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        connection.connection.commit()
    return time.perf_counter() - started


def baseline_drop() -> None:
    """Drop (a)'s table as soon as it is timed: autovacuum would otherwise vacuum and analyse its
    million new rows while (b) runs, on the same two cores, and bill (b) for the baseline's upkeep."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_price_data")


def child_run(*arguments: str) -> tuple[float, float, str]:
    """Run manage.py in a child process; return its seconds, its own peak RSS in MB and its output."""
    command = [sys.executable, str(ROOT / "manage.py"), *arguments]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output, errors = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed ({child.returncode}): {errors.strip()}")
    return seconds, usage.ru_maxrss / 1024, output


def import_run(csv_path: Path, symbol: str) -> tuple[float, float, str]:
    """Run import_candles in a child process; return its seconds, peak RSS in MB and summary line."""
    seconds, peak, output = child_run("import_candles", str(csv_path), "--symbol", symbol, "--no-indicators")
    return seconds, peak, output.splitlines()[0]


def bulk_path(csv_path: Path, asset: Asset, rows: int) -> float:
    """Return the seconds taken by the bulk_create path for the first `rows` rows of the file."""
    head = csv_path.with_name("head.csv")
    with csv_path.open() as source, head.open("w") as target:
        for _, line in zip(range(rows), source, strict=False):
            target.write(line)
    candles = read_candles(head)
    started = time.perf_counter()
    result = candles_upsert(
        asset=asset, timeframe="1m", rows=candles.rows, method="bulk_create", indicators=False
    )
    seconds = time.perf_counter() - started
    candles.close()
    assert result.inserted == rows, result
    return seconds


def checkpoint() -> None:
    """Write out what the earlier steps left dirty, so that the next one starts owing no checkpoint.

    (a) writes about 700 MB of WAL for 1M rows: without this, the checkpoint that max_wal_size
    (1 GB by default) asks for falls inside (b), which then pays for (a)'s pages.
    """
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def table_vacuum() -> None:
    """Reclaim the dead rows that deleting benchmark candles leaves in price_data."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")


def partitions_make(months: list[datetime]) -> list[str]:
    """Give the candles' months their partitions of price_data, as create_partitions (or the daily
    task) does: the import then writes to monthly partitions, like the COPY of (a). Return the
    names of those made here."""
    return [name for month in months if (name := month_partition_ensure(model=PriceData, month=month))]


def imported_remove(asset: Asset, created: list[str]) -> None:
    """Remove (b)'s candles, so that the next round imports into months as empty as this one's:
    the partitions made here are dropped (made again by partitions_make) unless other assets'
    rows are in them; the rest are deleted and the table vacuumed."""
    for name in created:
        partition_drop_unless_held(name, asset_id=asset.pk)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM price_data WHERE asset_id = %s", [asset.pk])
        deleted = cursor.rowcount
    if deleted:
        table_vacuum()


def partition_drop_unless_held(name: str, *, asset_id: int | None = None) -> None:
    """Drop the partition `name` if it exists and holds no candles (none but `asset_id`'s when
    given). Locked first, so that no writer adds rows between the look and the drop."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE asset_id IS DISTINCT FROM %s)", [asset_id])
        if not cursor.fetchone()[0]:
            cursor.execute(f"DROP TABLE {name}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="candles to generate (default 1,000,000)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of (a) then (b); b/a is of their medians (default 3)"
    )
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(f"the benchmark needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    if "price_data" not in connection.introspection.table_names():
        raise SystemExit("the database has no price_data table: run `manage.py migrate` first")
    table_vacuum()  # dead rows of earlier runs would slow the inserts down
    stamp = f"{os.getpid()}"
    symbols = [f"{SYMBOL_PREFIX}{stamp}", f"{SYMBOL_PREFIX}{stamp}B"]
    imported, bulk = (Asset.objects.create(symbol=s, name="benchmark", asset_type="crypto") for s in symbols)
    rows, rounds = options.rows, max(1, options.rounds)
    months = months_of(rows)
    created = partitions_make(months)
    a_times, b_times, peaks = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="cp-bench-") as folder:
            csv_path, copy_path = Path(folder) / "klines.csv", Path(folder) / "copy.txt"
            print(f"generating {rows:,} 1m candles ...", flush=True)
            candles_generate(rows, csv_path, copy_path, imported.pk)
            print(f"file: {csv_path.stat().st_size / 2**20:.0f} MB", flush=True)
            # The cost of starting Django (every app) is measured apart and left out of (b) and (c):
            # the quickest of a few starts, as the least the machine's load added to one.
            starts = [child_run("import_candles", "--help") for _ in range(3)]
            startup, base_peak = min(start[0] for start in starts), min(start[1] for start in starts)
            print(f"process start-up: {startup:.1f} s, {base_peak:.0f} MB", flush=True)
            for number in range(1, rounds + 1):
                if number > 1:  # the same empty months as the first round
                    imported_remove(imported, created)
                    created = sorted({*created, *partitions_make(months)})
                checkpoint()
                a = raw_copy(copy_path, months)
                baseline_drop()
                checkpoint()
                b, absolute_peak, summary = import_run(csv_path, imported.symbol)
                b -= startup
                a_times.append(a)
                b_times.append(b)
                peaks.append((absolute_peak - base_peak, absolute_peak))
                print(
                    f"round {number}: (a) raw COPY {rows / a:>9,.0f} rows/s ({a:.1f} s)   "
                    f"(b) import_candles {rows / b:>9,.0f} rows/s ({b:.1f} s)   b/a {a / b:.2f}",
                    flush=True,
                )
            print(f"    (b): {summary}")
            checkpoint()
            c, _, summary = import_run(csv_path, imported.symbol)
            c -= startup
            print(
                f"(c) import_candles again, all conflicts:{rows / c:>10,.0f} rows/s ({c:.1f} s)", flush=True
            )
            print(f"    {summary}")
            bulk_rows = min(BULK_ROWS, rows)
            checkpoint()
            d = bulk_path(csv_path, bulk, bulk_rows)
            print(f"(d) bulk_create path ({bulk_rows:,} rows):  {bulk_rows / d:>10,.0f} rows/s ({d:.1f} s)")
    finally:
        baseline_drop()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM price_data WHERE asset_id IN (%s, %s)", [imported.pk, bulk.pk])
        for name in created:  # only the partitions made here, now empty again unless others wrote there
            partition_drop_unless_held(name)
        Asset.objects.filter(pk__in=[imported.pk, bulk.pk]).delete()
        table_vacuum()
    a, b = statistics.median(a_times), statistics.median(b_times)
    ratio_a, ratio_d = a / b, (rows / b) / (bulk_rows / d)
    peak, absolute_peak = max(peaks)
    print()
    verdict = {True: "ok", False: "MISSED"}
    each = ", ".join(f"{x / y:.2f}" for x, y in zip(a_times, b_times, strict=True))
    print(
        f"b/a = {ratio_a:.2f} (target >= {TARGETS['b/a']:.2f})  {verdict[ratio_a >= TARGETS['b/a']]}"
        f"   medians of {rounds} rounds: (a) {a:.1f} s, (b) {b:.1f} s; each round: {each}"
    )
    print(f"b/d = {ratio_d:.1f} (target >= {TARGETS['b/d']:.0f})  {verdict[ratio_d >= TARGETS['b/d']]}")
    print(
        f"peak memory of (b) above start-up = {peak:.0f} MB (target < {TARGETS['peak_mb']} MB)  "
        f"{verdict[peak < TARGETS['peak_mb']]}; the whole process peaked at {absolute_peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
