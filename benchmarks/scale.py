"""Benchmark CryptoPredict at scale on PostgreSQL (DATABASE_URL, CACHE_URL from the environment).

    .venv/bin/python benchmarks/scale.py --rows 2000000 [--assets 20] [--keep]

Builds `--rows` one-minute candles for `--assets` assets through the product's own import
(`candles_import` of generated Binance kline files), then prints, each beside the raw SQL of the
same rows in the same run where there is one:

- ingest rows/s of the imports at 10%, 50% and 100% of the load;
- the candles API, p50/p99 for 1,000 candles (JSON and compact, cache cold and hot), and
  100,000 candles in one request;
- every admin candle-list page an analyst can reach: unfiltered, each filter, each offered
  sort, first and deepest page; the asset delete page;
- archiving (one day of 1m candles of every asset: the month the cut-off falls in moves row by
  row; a whole month moves by partition, measured by benchmarks/archive.py);
- bytes per candle on disk (table and each index), a row with and without indicators.

Everything it creates is deleted at the end unless `--keep` (then a rerun reuses the data).
"""

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from production_like import django_setup  # benchmarks/ is on sys.path

# No throttling of the test client.
django_setup(THROTTLE_RATE_FREE="100000000/min")

from django.test.utils import setup_test_environment  # noqa: E402

setup_test_environment()  # responses carry their template context (the changelist's paginator)

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from assets.candle_columns import OHLCV_COLUMNS  # noqa: E402
from assets.models import INDICATOR_FIELDS, Asset, PriceData  # noqa: E402
from assets.services.archiving import candles_archive  # noqa: E402
from assets.services.importing import candles_import  # noqa: E402
from cryptopredict.admin import EstimatedCountPaginator  # noqa: E402
from users.models import User  # noqa: E402

PREFIX = "SCALE"
START = datetime(2024, 1, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
SAMPLES = 40


def klines_write(path: Path, rows: int, seed: int) -> None:
    """Write `rows` 1m candles (a random walk) as a Binance kline CSV."""
    rng = random.Random(seed)
    price = rng.randint(100_000, 5_000_000)  # cents
    with path.open("w") as out:
        for i in range(rows):
            open_ms = START_MS + i * 60_000
            close = max(100, round(price * (1 + rng.gauss(0, 0.0008))))
            high = max(price, close) + rng.randint(0, 400)
            low = max(1, min(price, close) - rng.randint(0, 400))
            volume = rng.randint(1, 5_000_000_000)
            o, h, lo, c = (f"{v // 100}.{v % 100:02d}" for v in (price, high, low, close))
            vol = f"{volume // 10**8}.{volume % 10**8:08d}"
            out.write(f"{open_ms},{o},{h},{lo},{c},{vol},{open_ms + 59_999},0,{rng.randint(1, 3000)},0,0,0\n")
            price = close


def build(rows: int, assets: int) -> list[Asset]:
    """Import `rows` candles for `assets` new assets; print the ingest rate at 10/50/100% of the load."""
    existing = list(Asset.objects.filter(symbol__startswith=PREFIX).order_by("symbol"))
    if existing:
        candles = PriceData.objects.filter(asset__in=existing).count()
        print(f"reusing {len(existing)} {PREFIX} assets ({candles:,} candles)")
        return existing
    per_asset = rows // assets
    created, rates = [], []
    with tempfile.TemporaryDirectory(prefix="cp-scale-") as folder:
        for n in range(assets):
            asset = Asset.objects.create(symbol=f"{PREFIX}{n:02d}", name=f"Scale {n}", asset_type="crypto")
            created.append(asset)
            path = Path(folder) / f"{asset.symbol}.csv"
            klines_write(path, per_asset, seed=n)
            started = time.perf_counter()
            report = candles_import(path=path, asset=asset)
            seconds = time.perf_counter() - started
            path.unlink()
            assert report.inserted == per_asset, report
            rates.append(per_asset / seconds)
            print(f"  import {n + 1}/{assets}: {per_asset / seconds:,.0f} rows/s", flush=True)
    for share in (0.1, 0.5, 1.0):
        index = max(0, round(share * assets) - 1)
        print(f"ingest at {share:>4.0%} of the load: {rates[index]:>9,.0f} rows/s")
    spread = max(rates) / min(rates) - 1
    print(f"ingest spread (max/min - 1): {spread:.0%}")
    # One asset's candles validated, so the is_validated filter has something to find.
    PriceData.objects.filter(asset=created[0]).update(is_validated=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")
    return created


def timed(call, samples: int = SAMPLES) -> tuple[float, float]:
    """Return p50 and p99 of `call()` in milliseconds."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]


def raw_rows(asset: Asset, start: datetime, limit: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT candle_time, open_price, high_price, low_price, close_price, volume, trade_count, vwap,"
            " market_cap FROM price_data WHERE asset_id = %s AND timeframe = '1m' AND candle_time >= %s"
            " ORDER BY candle_time LIMIT %s",
            [asset.pk, start, limit],
        )
        return cursor.fetchall()


def bench_client() -> Client:
    """Return a test client logged in as a superuser (made for the benchmark)."""
    user = User.objects.filter(email="scale-bench@example.com").first() or User.objects.create_superuser(
        email="scale-bench@example.com", password="scale-bench-password"
    )
    client = Client()
    client.force_login(user)
    return client


def api_bench(client: Client, assets: list[Asset], per_asset: int) -> None:
    rng = random.Random(7)

    def start() -> tuple[Asset, datetime]:
        return rng.choice(assets), START + timedelta(minutes=rng.randrange(max(1, per_asset - 1000)))

    def api(fmt: str, hot: bool = False, limit: int = 1000):
        asset, moment = (assets[0], START) if hot else start()
        url = reverse("api:asset-candles", kwargs={"pk": asset.symbol})
        response = client.get(
            url, {"timeframe": "1m", "start": moment.isoformat(), "limit": limit, "format": fmt}
        )
        assert response.status_code == 200, response.content[:300]
        return response

    raw = timed(lambda: raw_rows(*start(), 1000))
    print(f"\ncandles, 1,000 rows: raw SQL p50 {raw[0]:.1f} ms, p99 {raw[1]:.1f} ms")
    for fmt in ("json", "compact"):
        cache.clear()
        cold = timed(lambda fmt=fmt: api(fmt))
        api(fmt, hot=True)
        hot = timed(lambda fmt=fmt: api(fmt, hot=True))
        print(
            f"  API {fmt:<8} cold p50 {cold[0]:6.1f} ms ({cold[0] / raw[0]:4.1f}x raw),"
            f" p99 {cold[1]:6.1f} ms;"
            f"  hot (cached) p50 {hot[0]:5.1f} ms ({hot[0] / raw[0]:4.1f}x)"
        )
    limit = min(100_000, per_asset)
    raw_big = timed(lambda: raw_rows(assets[1], START, limit), samples=5)
    print(f"candles, {limit:,} rows in one request: raw SQL {limit / raw_big[0] * 1000:,.0f} rows/s")
    for fmt in ("json", "compact"):
        cache.clear()
        big = timed(lambda fmt=fmt: api(fmt, limit=limit), samples=5)
        rate = limit / big[0] * 1000
        print(f"  API {fmt:<8} {rate:>9,.0f} rows/s ({big[0]:.0f} ms, {big[0] / raw_big[0]:.1f}x raw)")


def page_time(client: Client, url: str, params: dict, samples: int = 5) -> tuple[float, float]:
    """Return the median ms of an admin page and of the SQL it ran."""
    totals, sql = [], []
    for _ in range(samples):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            totals.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
        sql.append(sum(float(q["time"]) for q in queries) * 1000)
    return statistics.median(totals), statistics.median(sql)


def admin_bench(client: Client, assets: list[Asset]) -> None:
    url = reverse("admin:assets_pricedata_changelist")
    list_display = ["asset", "timeframe", "candle_time", *OHLCV_COLUMNS, "is_validated"]
    pages = [("unfiltered", {})]
    pages += [(f"timeframe {tf}", {"timeframe__exact": tf}) for tf in ("1m", "1d")]
    pages += [(f"is_validated {v}", {"is_validated__exact": v}) for v in ("1", "0")]
    pages += [("search symbol", {"q": assets[3].symbol})]
    print("\nadmin candle list (median of 5, whole page and its SQL; first page, deepest page):")
    worst = 0.0
    for name, query in pages:
        response = client.get(url, query)
        assert response.status_code == 200, name
        cl = response.context["cl"]
        sorts = [
            None,
            *(
                f"{prefix}{list_display.index(f)}"
                for f in cl.sortable_by
                if f in list_display
                for prefix in ("", "-")
            ),
        ]
        for sort in sorts:
            params = dict(query, **({"o": sort} if sort else {}))
            first, first_sql = page_time(client, url, params)
            deepest_page = client.get(url, params).context["cl"].paginator.num_pages
            deep, deep_sql = page_time(client, url, {**params, "p": deepest_page})
            worst = max(worst, first, deep)
            label = name
            if sort:
                label += f", sort {list_display[int(sort.lstrip('-'))]}{' desc' if sort[0] == '-' else ''}"
            print(
                f"  {label:<38} {first:5.0f} ms (SQL {first_sql:4.0f})   page {deepest_page:>3}:"
                f" {deep:5.0f} ms (SQL {deep_sql:4.0f})   {cl.paginator.count_label}"
            )
    print(f"  slowest admin candle page: {worst:.0f} ms")
    asset = assets[0]
    delete_url = reverse("admin:assets_asset_delete", args=[asset.pk])
    page, sql = page_time(client, delete_url, {})
    candles = PriceData.objects.filter(asset=asset).count()
    print(f"asset delete page ({candles:,} candles): {page:.0f} ms (SQL {sql:.0f})")


def archive_bench(assets: list[Asset]) -> None:
    cut = START + timedelta(days=1)
    older_than = timezone.now() - cut
    started = time.perf_counter()
    moved = candles_archive(older_than=older_than)
    seconds = time.perf_counter() - started
    print(
        f"\narchive one day of 1m candles of {len(assets)} assets (row by row, the cut-off's month):"
        f" {moved:,} rows in {seconds:.1f} s ({moved / seconds:,.0f} rows/s)"
    )


def storage_bench() -> None:
    """Print bytes per candle: the table and each index, and a row with and without indicators.

    Beside the row with indicators: what the same values took as the technical_indicators JSON
    the columns replaced (jsonb of the same keys and values, built in the query).
    """
    every = " AND ".join(f"{name} IS NOT NULL" for name in INDICATOR_FIELDS if name != "atr_14")
    none = " AND ".join(f"{name} IS NULL" for name in INDICATOR_FIELDS)
    as_json = ", ".join(f"'{name}', {name}" for name in INDICATOR_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")
        cursor.execute(
            # price_data is partitioned on PostgreSQL: its partitions hold the rows and indexes.
            "SELECT sum(pg_relation_size(c.oid)), sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid)),"
            " sum(GREATEST(c.reltuples, 0))::bigint"
            " FROM pg_partition_tree('price_data') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf"
        )
        heap, table, indexes, rows = cursor.fetchone()
        cursor.execute(
            "SELECT avg(pg_column_size(p.*)), avg(pg_column_size(jsonb_strip_nulls(jsonb_build_object("
            f"{as_json})))), count(*) FROM (SELECT * FROM price_data WHERE {every} LIMIT 100000) p"
        )
        with_indicators, json_size, sampled = cursor.fetchone()
        cursor.execute(
            f"SELECT avg(pg_column_size(p.*)) FROM (SELECT * FROM price_data WHERE {none} LIMIT 100000) p"
        )
        (without,) = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelid::regclass::text, (SELECT sum(pg_relation_size(relid))"
            " FROM pg_partition_tree(indexrelid)) FROM pg_index WHERE indrelid = 'price_data'::regclass"
            " ORDER BY 2 DESC"
        )
        index_sizes = cursor.fetchall()
    rows = max(rows, 1)
    print(f"\nstorage: {rows:,} candles; heap {heap / rows:.0f} B/candle (pg_relation_size),", end="")
    print(f" table with TOAST and maps {table / rows:.0f}, indexes {indexes / rows:.0f} B/candle")
    print(f"  row without indicators: {without or 0:.0f} B (pg_column_size)", end="")
    if sampled:
        print(
            f"; with every indicator: {with_indicators:.0f} B"
            f" (the same values as jsonb, the column they replaced, took {json_size:.0f} B alone)"
        )
    else:
        print("; no candle with indicators in this data")
    for name, size in index_sizes:
        print(f"  index {name}: {size / rows:.0f} B/candle")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="candles to build (default 2,000,000)")
    parser.add_argument("--assets", type=int, default=20, help="assets sharing them (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the data for another run")
    parser.add_argument("--parts", default="api,admin,storage,archive", help="what to measure (default: all)")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(f"the benchmark needs PostgreSQL (DATABASE_URL), not {connection.vendor}")
    EstimatedCountPaginator.count_cap = 10_000
    assets = build(options.rows, options.assets)
    per_asset = PriceData.objects.filter(asset=assets[0]).count()
    try:
        parts = set(options.parts.split(","))
        client = bench_client()
        if "api" in parts:
            api_bench(client, assets, per_asset)
        if "admin" in parts:
            admin_bench(client, assets)
        if "storage" in parts:
            storage_bench()
        if "archive" in parts:
            archive_bench(assets)
    finally:
        if not options.keep:
            with connection.cursor() as cursor:
                for table in ("price_data", "price_data_archive"):
                    cursor.execute(f"DELETE FROM {table} WHERE asset_id = ANY(%s)", [[a.pk for a in assets]])
            Asset.objects.filter(pk__in=[a.pk for a in assets]).delete()
            User.objects.filter(email="scale-bench@example.com").delete()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE price_data")
                cursor.execute("VACUUM ANALYZE price_data_archive")


if __name__ == "__main__":
    main()
