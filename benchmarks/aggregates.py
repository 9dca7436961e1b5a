"""Benchmark the aggregate views against the queries they replace, on PostgreSQL (DATABASE_URL).

    .venv/bin/python benchmarks/aggregates.py --rows 1000000 [--assets 20] [--keep]

Writes `--rows` one-minute candles (plus 1h and 1d ones) for `--assets` new assets with one
INSERT ... SELECT (this measures reads, not ingest), asset n's series ending n days before the
first's (a lagging sync, a delisted coin), refreshes the views, and prints p50 in ms, each
beside the raw SQL of the same figures in the same run:

- the latest close of every asset (what valuations read): the selector (holdings_valued over a
  portfolio holding every asset) and the raw SQL of its own query, the raw SQL on the view, and
  the query and selector it replaces (the latest candle of any timeframe per asset, from
  price_data);
- the dashboard's freshness panel (data_freshness) beside the selector and raw SQL it replaces
  (per-series subqueries on price_data), and the whole admin index page;
- the cost of a concurrent refresh of each view, and latest_candles' defining query beside
  migration 0009's (the per-pair `ORDER BY candle_time DESC LIMIT 1` that analysed partitions
  let the planner serve from the (timeframe, candle_time) indexes).

Everything it creates is deleted at the end unless `--keep`.
"""

import argparse
import importlib
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from production_like import django_setup

django_setup()

from django.db import connection  # noqa: E402
from django.db.models import F, OuterRef, Subquery  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from assets.models import Asset, LatestCandle, PriceData  # noqa: E402
from backoffice.selectors import data_freshness  # noqa: E402
from cryptopredict.aggregates import aggregates_refresh  # noqa: E402
from cryptopredict.choices import Timeframe  # noqa: E402
from selection.models import Portfolio, PortfolioAsset  # noqa: E402
from selection.selectors import VALUE, holdings_valued  # noqa: E402
from users.models import User  # noqa: E402

PREFIX = "AGGB"
START = datetime(2024, 1, 1, tzinfo=UTC)
EMAIL = "aggregates-bench@example.com"
SAMPLES = 30

INSERT = """
    INSERT INTO price_data (asset_id, timeframe, candle_time, open_price, high_price, low_price,
        close_price, volume, is_validated)
    SELECT %(asset)s, %(tf)s, t, p, p + 1, p - 1, p, 1, false
    FROM (
        SELECT %(start)s::timestamptz + n * %(step)s::interval AS t, 1000 + (n %% 977) AS p
        FROM generate_series(0, %(count)s - 1) AS n
    ) AS s
"""
# The query the view replaces: per asset, the latest candle of any timeframe (selection's old
# correlated subquery), and per asset and timeframe the latest candle (the old freshness panel).
RAW_LATEST_CLOSE = """
    SELECT a.id, (SELECT p.close_price FROM price_data p WHERE p.asset_id = a.id
                  ORDER BY p.candle_time DESC LIMIT 1)
    FROM assets a WHERE a.id = ANY(%s)
"""
RAW_FRESHNESS = (
    "SELECT a.id, "
    + ", ".join(
        f"(SELECT p.candle_time FROM price_data p WHERE p.asset_id = a.id AND p.timeframe = '{tf}'"
        " ORDER BY p.candle_time DESC LIMIT 1)"
        for tf in Timeframe.values
    )
    + " FROM assets a WHERE a.is_active ORDER BY a.market_cap_rank ASC NULLS LAST, a.symbol LIMIT 20"
)
VIEW_LATEST_CLOSE = """
    SELECT DISTINCT ON (asset_id) asset_id, close_price FROM latest_candles
    WHERE asset_id = ANY(%s) ORDER BY asset_id, candle_time DESC
"""


def old_holdings_valued(holdings):
    """The valuation before the view: a correlated subquery on price_data per holding."""
    latest = PriceData.objects.filter(asset=OuterRef("asset")).order_by("-candle_time")
    close = Subquery(latest.values("close_price")[:1], output_field=VALUE)
    return holdings.annotate(current_price=Coalesce(close, F("asset__current_price"), output_field=VALUE))


def old_freshness() -> list:
    """The freshness panel's read before the view: a subquery on price_data per timeframe."""
    latest = {
        f"latest_{tf}": Subquery(
            PriceData.objects.series(OuterRef("pk"), tf).order_by("-candle_time").values("candle_time")[:1]
        )
        for tf in Timeframe.values
    }
    return list(Asset.objects.filter(is_active=True).annotate(**latest).order_by(*Asset._meta.ordering)[:20])


def timed(call, samples: int = SAMPLES) -> float:
    """Return the median milliseconds of `call()`."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def sql(query: str, params=None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def build(rows: int, assets: int) -> list[Asset]:
    existing = list(Asset.objects.filter(symbol__startswith=PREFIX).order_by("symbol"))
    if existing:
        print(f"reusing {len(existing)} {PREFIX} assets")
        return existing
    per_asset = rows // assets
    created = []
    started = time.perf_counter()
    for n in range(assets):
        asset = Asset.objects.create(
            symbol=f"{PREFIX}{n:02d}", name=f"Aggregates {n}", asset_type="crypto", market_cap_rank=n + 1
        )
        created.append(asset)
        # Asset n's candles stop n days before asset 0's (a lagging sync, a delisted coin), so the
        # latest candles of the assets are not all at the end of the candle_time index.
        start = START - timedelta(days=n)
        for tf, step, count in (
            ("1m", "1 minute", per_asset),
            ("1h", "1 hour", per_asset // 60),
            ("1d", "1 day", max(1, per_asset // 1440)),
        ):
            sql(INSERT, {"asset": asset.pk, "tf": tf, "step": step, "count": count, "start": start})
    sql("ANALYZE price_data")
    total = PriceData.objects.filter(asset__in=created).count()
    print(f"built {assets} assets, {total:,} candles in {time.perf_counter() - started:.0f} s")
    return created


def portfolio(assets: list[Asset]) -> Portfolio:
    user = User.objects.filter(email=EMAIL).first() or User.objects.create_superuser(
        email=EMAIL, password="x" * 20
    )
    held, created = Portfolio.objects.get_or_create(user=user, name="aggregates benchmark")
    if not created:
        return held
    PortfolioAsset.objects.bulk_create(
        PortfolioAsset(portfolio=held, asset=a, quantity=Decimal(1), average_buy_price=1, cost_basis=1)
        for a in assets
    )
    return held


def cleanup(assets: list[Asset]) -> None:
    Portfolio.objects.filter(user__email=EMAIL).delete()
    User.objects.filter(email=EMAIL).delete()
    PriceData.objects.filter(asset__in=assets).delete()
    Asset.objects.filter(pk__in=[a.pk for a in assets]).delete()
    aggregates_refresh()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("benchmarks/aggregates.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    assets = build(args.rows, args.assets)
    candles = sql("SELECT reltuples::bigint FROM pg_class WHERE relname = 'price_data'")[0][0]
    print(f"price_data holds about {candles:,} candles\n")

    for view in ("latest_candles", "sector_daily"):
        print(f"refresh {view} concurrently: {timed(lambda v=view: aggregates_refresh(views=[v]), 5):.1f} ms")
    current = sql("SELECT definition FROM pg_matviews WHERE matviewname = 'latest_candles'")[0][0]
    before = importlib.import_module("assets.migrations.0009_latest_candles_view")
    old = before.CREATE["postgresql"][0].split(" AS", 1)[1]
    assert sorted(sql(old)) == sorted(sql(current)), "0009's query and the view's disagree"
    print(
        f"latest_candles query (price_data analysed): {timed(lambda: sql(current), 5):.1f} ms,"
        f" 0009's {timed(lambda: sql(old), 3):.1f} ms"
    )
    ids = [a.pk for a in assets]
    held = portfolio(assets)
    try:
        # The same figures both ways, before timing them.
        direct = dict(sql(RAW_LATEST_CLOSE, [ids]))
        valued = {h.asset_id: h.current_price for h in holdings_valued(held.holdings.all())}
        assert valued == direct, "the view and price_data disagree"
        assert len(LatestCandle.objects.filter(asset__in=assets)) == 3 * len(assets)

        print(f"\nlatest close of {len(ids)} assets (valuations)")
        raw_old = timed(lambda: sql(RAW_LATEST_CLOSE, [ids]))
        raw_view = timed(lambda: sql(VIEW_LATEST_CLOSE, [ids]))
        own_sql, own_params = holdings_valued(held.holdings.all()).query.sql_with_params()
        raw_own = timed(lambda: sql(own_sql, own_params))
        selector = timed(lambda: list(holdings_valued(held.holdings.all())))
        old = timed(lambda: list(old_holdings_valued(held.holdings.all())))
        print(f"  raw SQL on price_data (the query replaced) {raw_old:8.2f} ms")
        print(f"  raw SQL on the view                        {raw_view:8.2f} ms")
        print(f"  raw SQL of the selector's own query        {raw_own:8.2f} ms")
        print(
            f"  holdings_valued (selector, view)           {selector:8.2f} ms"
            f"  ({selector / raw_own:.1f}x its raw SQL)"
        )
        print(
            f"  the replaced selector (on price_data)      {old:8.2f} ms  ({old / selector:.1f}x the view's)"
        )

        print("\ndashboard")
        raw_fresh = timed(lambda: sql(RAW_FRESHNESS))
        fresh = timed(data_freshness)
        fresh_old = timed(old_freshness)
        client = Client()
        client.force_login(held.user)
        url = reverse("admin:index")
        assert client.get(url).status_code == 200
        page = timed(lambda: client.get(url), 10)
        print(f"  raw SQL of the old freshness subqueries    {raw_fresh:8.2f} ms")
        print(
            f"  data_freshness (selector, view)            {fresh:8.2f} ms"
            f"  ({fresh / raw_fresh:.2f}x old raw)"
        )
        print(
            f"  the replaced selector (on price_data)      {fresh_old:8.2f} ms"
            f"  ({fresh_old / fresh:.1f}x the view's)"
        )
        print(f"  admin index page, whole                    {page:8.2f} ms")
    finally:
        if not args.keep:
            cleanup(assets)


if __name__ == "__main__":
    main()
