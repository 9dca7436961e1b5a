"""Benchmark CryptoPredict at scale on PostgreSQL (DATABASE_URL, CACHE_URL from the environment).

    .venv/bin/python benchmarks/scale.py --rows 2000000 [--assets 20] [--keep]

Builds `--rows` one-minute candles for `--assets` assets through the product's own import
(`candles_import` of generated Binance kline files) as a bulk load runs it: the candles' monthly
partitions created first (as `create_partitions` keeps them), indicators left to
`compute_indicators` (`import_candles --no-indicators`, as benchmarks/ingest.py times it). Then
prints, each beside the raw SQL of the same rows in the same run where there is one:

- ingest rows/s of the imports at 10%, 50% and 100% of the load, each beside a raw COPY of the
  same file's rows into price_data at that size (rolled back), so the machine's load and the
  table's size can be told apart; and one smaller import with its indicators computed;
- the candles API, p50/p99 for 1,000 candles (JSON and compact, cache cold and hot), and
  100,000 candles in one request; the candle list `price-data/` with each filter and offered
  ordering, first and 20th cursor page, and one candle by id;
- every admin candle-list page an analyst can reach: unfiltered, each filter, each offered
  sort, first and deepest page; the asset delete page;
- archiving (one day of 1m candles of every asset: the month the cut-off falls in moves row by
  row; a whole month moves by partition, measured by benchmarks/archive.py);
- bytes per candle on disk (table and each index), a row with and without indicators.

Everything it creates (assets, candles, the partitions of their months left empty) is deleted at
the end unless `--keep` (then a rerun reuses the data).
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

from django.contrib import admin  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from assets.models import INDICATOR_FIELDS, Asset, PriceData  # noqa: E402
from assets.services.archiving import candles_archive  # noqa: E402
from assets.services.importing import candles_import  # noqa: E402
from assets.services.partitions import (  # noqa: E402
    month_next,
    month_partition_ensure,
    month_start,
    partition_name,
)
from cryptopredict.admin import EstimatedCountPaginator  # noqa: E402
from users.models import User  # noqa: E402

PREFIX = "SCALE"
# The load's assets are SCALE00, SCALE01, ...; SCALEIND is the small one imported with indicators.
LOAD_SYMBOLS = rf"^{PREFIX}[0-9]+$"
INDICATOR_SYMBOL = f"{PREFIX}IND"
INDICATOR_ROWS = 20_000
COPY_COLUMNS = (
    "asset_id, timeframe, candle_time, open_price, high_price, low_price, close_price, volume, trade_count"
)
START = datetime(2024, 1, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
SAMPLES = 40


def klines_write(path: Path, rows: int, seed: int, copy_path: Path | None = None, asset_id: int = 0) -> None:
    """Write `rows` 1m candles (a random walk) as a Binance kline CSV, and as COPY text of the
    same values for price_data's COPY_COLUMNS into `copy_path` when given."""
    rng = random.Random(seed)
    price = rng.randint(100_000, 5_000_000)  # cents
    copy_out = copy_path.open("w") if copy_path else None
    with path.open("w") as out:
        for i in range(rows):
            open_ms = START_MS + i * 60_000
            close = max(100, round(price * (1 + rng.gauss(0, 0.0008))))
            high = max(price, close) + rng.randint(0, 400)
            low = max(1, min(price, close) - rng.randint(0, 400))
            volume = rng.randint(1, 5_000_000_000)
            o, h, lo, c = (f"{v // 100}.{v % 100:02d}" for v in (price, high, low, close))
            vol = f"{volume // 10**8}.{volume % 10**8:08d}"
            trades = rng.randint(1, 3000)
            out.write(f"{open_ms},{o},{h},{lo},{c},{vol},{open_ms + 59_999},0,{trades},0,0,0\n")
            if copy_out:
                stamp = datetime.fromtimestamp(open_ms / 1000, UTC).isoformat()
                copy_out.write(f"{asset_id}\t1m\t{stamp}\t{o}\t{h}\t{lo}\t{c}\t{vol}\t{trades}\n")
            price = close
    if copy_out:
        copy_out.close()


def partitions_ensure(rows_per_asset: int) -> list[str]:
    """Create price_data's partitions for the months of the candles; return the names created."""
    last = START + timedelta(minutes=max(rows_per_asset, INDICATOR_ROWS) - 1)
    month, created = month_start(START), []
    while month <= last:
        if name := month_partition_ensure(model=PriceData, month=month):
            created.append(name)
        month = month_next(month)
    return created


def raw_copy(copy_path: Path) -> float:
    """Return the seconds a raw COPY of `copy_path` into price_data takes (rolled back after)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            with (
                cursor.copy(f"COPY price_data ({COPY_COLUMNS}) FROM STDIN") as copy,
                copy_path.open() as source,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign key is checked too
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def partitions_drop_empty(rows_per_asset: int) -> None:
    """Drop the partitions of the candles' months that are empty (those partitions_ensure made)."""
    last = START + timedelta(minutes=max(rows_per_asset, INDICATOR_ROWS) - 1)
    month = month_start(START)
    with connection.cursor() as cursor:
        while month <= last:
            name = partition_name(PriceData, month)
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")
                if not cursor.fetchone()[0]:
                    cursor.execute(f"DROP TABLE {name}")
            month = month_next(month)


def minutes_until_now() -> int:
    """Return the one-minute candles an asset can have from START to now."""
    return int((datetime.now(UTC) - START) / timedelta(minutes=1))


def build(rows: int, assets: int) -> list[Asset]:
    """Import `rows` candles for `assets` new assets; print the ingest rate at 10/50/100% of the load."""
    existing = list(Asset.objects.filter(symbol__regex=LOAD_SYMBOLS).order_by("symbol"))
    if existing:
        candles = PriceData.objects.filter(asset__in=existing).count()
        print(f"reusing {len(existing)} {PREFIX} assets ({candles:,} candles)")
        return existing
    per_asset = rows // assets
    end = START + timedelta(minutes=per_asset)
    if end > datetime.now(UTC):  # the import rejects candles from the future
        raise SystemExit(
            f"{per_asset:,} one-minute candles an asset from {START:%Y-%m-%d} run to {end:%Y-%m-%d},"
            f" after today: use more --assets (at least {-(-rows // minutes_until_now())})"
        )
    created_partitions = partitions_ensure(per_asset)
    print(f"{len(created_partitions)} monthly partitions of price_data created for the candles", flush=True)
    created, rates, raw_rates = [], [], {}
    checkpoints = {max(0, round(share * assets) - 1): share for share in (0.1, 0.5, 1.0)}
    # The raw COPYs write the same rows for an asset of their own, then roll back.
    raw_asset = Asset.objects.create(symbol=f"{PREFIX}RAW", name="Scale raw COPY", asset_type="crypto")
    build_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cp-scale-") as folder:
        for n in range(assets):
            asset = Asset.objects.create(symbol=f"{PREFIX}{n:02d}", name=f"Scale {n}", asset_type="crypto")
            created.append(asset)
            path, copy_path = Path(folder) / f"{asset.symbol}.csv", Path(folder) / f"{asset.symbol}.copy"
            klines_write(
                path,
                per_asset,
                seed=n,
                copy_path=copy_path if n in checkpoints else None,
                asset_id=raw_asset.pk,
            )
            started = time.perf_counter()
            report = candles_import(path=path, asset=asset, indicators=False)
            seconds = time.perf_counter() - started
            path.unlink()
            assert report.inserted == per_asset, report
            rates.append(per_asset / seconds)
            line = f"  import {n + 1}/{assets}: {per_asset / seconds:,.0f} rows/s"
            if n in checkpoints:
                # The same rows by raw COPY into price_data as it is now, right after the import.
                raw_rates[n] = per_asset / raw_copy(copy_path)
                copy_path.unlink()
                line += f"; raw COPY of the same rows just after: {raw_rates[n]:,.0f} rows/s"
            print(line, flush=True)
    raw_asset.delete()
    print(
        f"built {rows:,} candles in {time.perf_counter() - build_started:.0f} s"
        " (writing the files and the raw COPYs included)"
    )
    for n, share in checkpoints.items():
        print(
            f"ingest at {share:>4.0%} of the load: {rates[n]:>9,.0f} rows/s;"
            f" raw COPY of the same rows {raw_rates[n]:>9,.0f} rows/s;"
            f" import/raw {rates[n] / raw_rates[n]:.2f}"
        )
    at = [rates[n] for n in checkpoints]
    raw = list(raw_rates.values())
    print(
        f"ingest spread (max/min - 1) at 10/50/100%: import {max(at) / min(at) - 1:.0%},"
        f" raw COPY {max(raw) / min(raw) - 1:.0%}; over every import {max(rates) / min(rates) - 1:.0%}"
    )
    indicators_import(folder_rows=INDICATOR_ROWS)
    # One asset's candles validated, so the is_validated filter has something to find.
    PriceData.objects.filter(asset=created[0]).update(is_validated=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE price_data")
    return created


def indicators_import(folder_rows: int) -> None:
    """Import `folder_rows` candles of one more asset with their indicators (the storage part's rows)."""
    asset = Asset.objects.create(symbol=INDICATOR_SYMBOL, name="Scale indicators", asset_type="crypto")
    with tempfile.TemporaryDirectory(prefix="cp-scale-") as folder:
        path = Path(folder) / "indicators.csv"
        klines_write(path, folder_rows, seed=999)
        started = time.perf_counter()
        report = candles_import(path=path, asset=asset)
        seconds = time.perf_counter() - started
    print(
        f"import with indicators ({folder_rows:,} rows, {report.indicators:,} indicator rows):"
        f" {folder_rows / seconds:,.0f} rows/s"
    )


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
        url = reverse("api:asset-candles", kwargs={"symbol": asset.symbol})
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


def api_lists_bench(client: Client, assets: list[Asset], per_asset: int) -> None:
    """Time the candle list calls a client can make: each filter and offered ordering, a deep page."""
    url = reverse("api:pricedata-list")
    symbol = assets[3].symbol
    middle = (START + timedelta(minutes=per_asset // 2)).isoformat()
    day_after = (START + timedelta(minutes=per_asset // 2 + 1440)).isoformat()
    calls = [
        ("unfiltered", {}),
        ("ordering candle_time", {"ordering": "candle_time"}),
        ("ordering -volume", {"ordering": "-volume"}),
        ("ordering id", {"ordering": "id"}),
        ("timeframe=1m", {"timeframe": "1m"}),
        ("timeframe=1d (none)", {"timeframe": "1d"}),
        ("asset=SYM", {"asset": symbol}),
        ("asset=SYM, ordering candle_time", {"asset": symbol, "ordering": "candle_time"}),
        ("asset=SYM&timeframe=1m", {"asset": symbol, "timeframe": "1m"}),
        ("asset_symbol=SYM", {"asset_symbol": symbol}),
        ("asset=SYM, a day", {"asset": symbol, "candle_time__gte": middle, "candle_time__lt": day_after}),
        ("a day, every asset", {"candle_time__gte": middle, "candle_time__lt": day_after}),
        ("is_validated=true", {"is_validated": "true"}),
        ("is_validated=false", {"is_validated": "false"}),
        ("asset=SYM, page_size=500", {"asset": symbol, "page_size": 500}),
        ("asset=early-ending asset", {"asset": INDICATOR_SYMBOL}),
    ]
    print(
        "\nAPI candle lists, price-data/ (50 a page; median of 5, whole call and its SQL; 20th cursor page):"
    )
    worst = 0.0
    for name, params in calls:
        first, first_sql = page_time(client, url, params)
        response = client.get(url, params)
        for _ in range(19):  # follow the cursor
            following = response.json()["next"]
            if following is None:
                break
            response = client.get(following)
        deep, deep_sql = page_time(client, following or url, {} if following else params)
        worst = max(worst, first, deep)
        print(
            f"  {name:<38} {first:5.0f} ms (SQL {first_sql:4.0f})"
            f"   page 20: {deep:5.0f} ms (SQL {deep_sql:4.0f})"
        )
    candle = (
        PriceData.objects.filter(asset=assets[3]).order_by("-candle_time").values_list("pk", flat=True)[0]
    )
    detail, detail_sql = page_time(client, reverse("api:pricedata-detail", args=[candle]), {})
    print(f"  one candle by id                       {detail:5.0f} ms (SQL {detail_sql:4.0f})")
    worst = max(worst, detail)
    print(f"  slowest API list call: {worst:.0f} ms")


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


def changelist(url: str, params: dict, user: User):
    """Return the candle admin's ChangeList for a request of `url` with `params`."""
    request = RequestFactory().get(url, params)
    request.user = user
    return admin.site._registry[PriceData].get_changelist_instance(request)


def admin_bench(client: Client, assets: list[Asset], per_asset: int) -> None:
    url = reverse("admin:assets_pricedata_changelist")
    pages = [("unfiltered", {})]
    pages += [(f"timeframe {tf}", {"timeframe__exact": tf}) for tf in ("1m", "1d")]
    pages += [(f"is_validated {v}", {"is_validated__exact": v}) for v in ("1", "0")]
    pages += [("search symbol", {"q": assets[3].symbol})]
    pages += [("asset filter", {"asset__id__exact": assets[3].pk})]
    # A series that ended long before the others (a delisted coin): its 20,000 candles in January.
    short = Asset.objects.filter(symbol=INDICATOR_SYMBOL).first()
    if short:
        pages += [("search an early-ending asset", {"q": short.symbol})]
    pages += [("asset and timeframe 1m", {"asset__id__exact": assets[3].pk, "timeframe__exact": "1m"})]
    day = START.date() + timedelta(days=per_asset // 2880)  # a day in the middle of the candles
    pages += [("a day (date range)", {"candle_time__range__gte": day, "candle_time__range__lte": day})]
    pages += [(f"is_price_point {v}", {"is_price_point__exact": v}) for v in ("1", "0")]
    print("\nadmin candle list (median of 5, whole page and its SQL; first page, deepest page):")
    worst = 0.0
    user = User.objects.get(email="scale-bench@example.com")
    for name, query in pages:
        # The changelist as the page builds it (its offered sorts, pages, count), outside the
        # timed requests: the test client records no template context (that would slow them).
        cl = changelist(url, query, user)
        # `o` numbers the changelist's own columns (the action checkbox first); each offered one.
        sorts = [None] + [
            f"{prefix}{index}"
            for index, column in enumerate(cl.list_display)
            if column in cl.sortable_by
            for prefix in ("", "-")
        ]
        for sort in sorts:
            params = dict(query, **({"o": sort} if sort else {}))
            shown = changelist(url, params, user)
            if sort:  # the sort is applied, not ignored as an unoffered one would be
                column = cl.list_display[int(sort.lstrip("-"))].removesuffix("_shown")
                assert shown.queryset.query.order_by[0].lstrip("-") == column, (
                    sort,
                    shown.queryset.query.order_by,
                )
            first, first_sql = page_time(client, url, params)
            deepest_page = shown.paginator.num_pages
            deep, deep_sql = page_time(client, url, {**params, "p": deepest_page})
            worst = max(worst, first, deep)
            label = name
            if sort:
                column = cl.list_display[int(sort.lstrip("-"))].removesuffix("_shown")
                label += f", sort {column}{' desc' if sort[0] == '-' else ''}"
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
            api_lists_bench(client, assets, per_asset)
        if "admin" in parts:
            admin_bench(client, assets, per_asset)
        if "storage" in parts:
            storage_bench()
        if "archive" in parts:
            archive_bench(assets)
    finally:
        if not options.keep:
            assets += list(Asset.objects.filter(symbol=INDICATOR_SYMBOL))
            with connection.cursor() as cursor:
                for table in ("price_data", "price_data_archive"):
                    cursor.execute(f"DELETE FROM {table} WHERE asset_id = ANY(%s)", [[a.pk for a in assets]])
            Asset.objects.filter(pk__in=[a.pk for a in assets]).delete()
            User.objects.filter(email="scale-bench@example.com").delete()
            partitions_drop_empty(per_asset)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE price_data")
                cursor.execute("VACUUM ANALYZE price_data_archive")


if __name__ == "__main__":
    main()
