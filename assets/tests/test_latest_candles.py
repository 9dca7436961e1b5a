"""The latest-candle view: refreshed after candle writes commit, debounced, equal to price_data."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from assets.models import Asset, LatestCandle, PriceData
from assets.services.partitions import month_next, month_partitions_ensure
from assets.services.writing import candle_delete, candles_upsert
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict import aggregates
from cryptopredict.choices import TIMEFRAME_DELTAS, Timeframe
from cryptopredict.tasks import refresh_aggregates

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(start: datetime, count: int, step: timedelta, close0: int = 100) -> list[dict]:
    return [
        {
            "candle_time": start + i * step,
            "open": str(close0 + i),
            "high": str(close0 + i + 1),
            "low": str(close0 + i - 1),
            "close": str(close0 + i),
            "volume": "1",
        }
        for i in range(count)
    ]


def from_price_data() -> set[tuple]:
    """The latest candle of every series, worked out here from price_data's rows."""
    latest: dict[tuple, PriceData] = {}
    for candle in PriceData.objects.filter(asset__in=Asset.objects.all()):
        key = (candle.asset_id, candle.timeframe)
        if key not in latest or candle.candle_time > latest[key].candle_time:
            latest[key] = candle
    return {(a, tf, c.candle_time, c.close_price) for (a, tf), c in latest.items()}


def in_view() -> set[tuple]:
    # This test's assets only: a flush between transactional tests leaves a view's rows until its
    # next refresh, as a deletion by SQL would.
    rows = LatestCandle.objects.filter(asset__in=Asset.objects.all())
    return set(rows.values_list("asset_id", "timeframe", "candle_time", "close_price"))


@pytest.mark.postgres
def test_a_candle_write_reaches_the_view_when_the_refresh_task_runs_after_its_commit(
    django_capture_on_commit_callbacks,
):
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        candles_upsert(asset=btc, timeframe="1h", rows=rows(T0, 30, timedelta(hours=1)), indicators=False)
        candles_upsert(asset=btc, timeframe="1d", rows=rows(T0, 3, timedelta(days=1), 500), indicators=False)
        candles_upsert(asset=eth, timeframe="1h", rows=rows(T0, 5, timedelta(hours=1), 7), indicators=False)

    assert in_view() == set()  # materialized: nothing changes before the refresh
    for callback in callbacks:
        callback()  # the commit: the refresh task runs (in-process, no broker in the tests)
    assert in_view() == from_price_data()
    assert LatestCandle.objects.get(asset=btc, timeframe="1h").candle_time == T0 + timedelta(hours=29)
    assert len(in_view()) == 3

    with django_capture_on_commit_callbacks(execute=True):
        candle_delete(
            candle=PriceData.objects.get(asset=btc, timeframe="1h", candle_time=T0 + timedelta(hours=29))
        )
    assert in_view() == from_price_data()
    assert LatestCandle.objects.get(asset=btc, timeframe="1h").candle_time == T0 + timedelta(hours=28)


@pytest.mark.postgres
def test_writes_within_the_delay_share_one_refresh(django_capture_on_commit_callbacks, monkeypatch, settings):
    sent = []
    monkeypatch.setattr(refresh_aggregates, "apply_async", lambda **kwargs: sent.append(kwargs))
    asset = AssetFactory()
    for day in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            candles_upsert(
                asset=asset,
                timeframe="1d",
                rows=rows(T0 + timedelta(days=day), 1, timedelta(days=1)),
                indicators=False,
            )
    assert sent == [{"kwargs": {"views": ["latest_candles"]}, "countdown": settings.AGGREGATES_REFRESH_DELAY}]

    refresh_aggregates(views=["latest_candles"])  # the task: drops the mark, then refreshes
    assert LatestCandle.objects.get(asset=asset, timeframe="1d").candle_time == T0 + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        candles_upsert(
            asset=asset,
            timeframe="1d",
            rows=rows(T0 + timedelta(days=3), 1, timedelta(days=1)),
            indicators=False,
        )
    assert len(sent) == 2  # a write after the refresh started asks for the next one


@pytest.mark.postgres
def test_a_broker_that_is_down_fails_no_write(django_capture_on_commit_callbacks, monkeypatch):
    def down(**kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(refresh_aggregates, "apply_async", down)
    asset = AssetFactory()
    with django_capture_on_commit_callbacks(execute=True):
        result = candles_upsert(
            asset=asset, timeframe="1d", rows=rows(T0, 2, timedelta(days=1)), indicators=False
        )
    assert result.inserted == 2
    # The mark was dropped with the failure: the next write asks again.
    sent = []
    monkeypatch.setattr(refresh_aggregates, "apply_async", lambda **kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        candles_upsert(
            asset=asset,
            timeframe="1d",
            rows=rows(T0 + timedelta(days=2), 1, timedelta(days=1)),
            indicators=False,
        )
    assert len(sent) == 1


def test_every_timeframe_reaches_the_view():
    # The migration lists the timeframes: a new one without a migration would be missing here.
    asset = AssetFactory()
    for timeframe in Timeframe.values:
        PriceDataFactory(asset=asset, timeframe=timeframe, candle_time=T0)
    assert sorted(LatestCandle.objects.filter(asset=asset).values_list("timeframe", flat=True)) == sorted(
        Timeframe.values
    )
    assert in_view() == from_price_data()


def test_the_command_refreshes_every_view_or_those_named():
    out = StringIO()
    call_command("refresh_aggregates", stdout=out)
    if connection.vendor == "postgresql":
        assert out.getvalue().strip() == "refreshed latest_candles, sector_daily"
        with pytest.raises(CommandError, match="no materialized view nonsense") as error:
            call_command("refresh_aggregates", "nonsense")
        assert error.value.returncode == 2
    else:
        assert "plain views are always current" in out.getvalue()


@pytest.mark.postgres
def test_every_materialized_view_has_the_unique_index_a_concurrent_refresh_needs():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.matviewname FROM pg_matviews m WHERE NOT EXISTS (SELECT 1 FROM pg_indexes i"
            " WHERE i.tablename = m.matviewname AND i.indexdef LIKE 'CREATE UNIQUE INDEX%%')"
        )
        assert cursor.fetchall() == []
    assert aggregates.materialized_views() == ["latest_candles", "sector_daily"]


def test_periods_of_every_fixed_timeframe_are_known():
    # The valuation's tie rule (the longer candle closes later) orders by timeframe length.
    assert [TIMEFRAME_DELTAS[tf] for tf in Timeframe.values if tf in TIMEFRAME_DELTAS] == sorted(
        TIMEFRAME_DELTAS.values()
    )


def test_a_series_missing_beside_other_assets_of_its_timeframe_has_no_row_and_hides_none():
    # The view's probe lands on a neighbouring series' row for a missing series (PostgreSQL): that
    # row must be dropped, and the neighbours' own latest candles kept.
    lonely, busy, after = (
        AssetFactory(symbol="LONE"),
        AssetFactory(symbol="BUSY"),
        AssetFactory(symbol="AFTR"),
    )
    candles_upsert(asset=busy, timeframe="1m", rows=rows(T0, 5, timedelta(minutes=1)), indicators=False)
    candles_upsert(asset=after, timeframe="1m", rows=rows(T0, 3, timedelta(minutes=1), 7), indicators=False)
    candles_upsert(asset=lonely, timeframe="1d", rows=rows(T0, 2, timedelta(days=1)), indicators=False)
    call_command("refresh_aggregates", stdout=StringIO())
    assert in_view() == from_price_data()
    assert not LatestCandle.objects.filter(asset=lonely, timeframe="1m").exists()


@pytest.mark.postgres
def test_the_view_reads_price_data_only_through_the_unique_index():
    # A series without candles beside others of its timeframe made 0009's view walk every
    # partition's candle_time index through all of them (25 s at 1.5M candles, per refresh).
    AssetFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_viewdef('latest_candles'::regclass)")
        (definition,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: scan by an index
        cursor.execute(f"EXPLAIN (FORMAT JSON) {definition}")
        plan = cursor.fetchone()[0]

    def scans(node):
        if node.get("Relation Name", "").startswith("price_data"):
            yield node["Node Type"], node.get("Index Name", "")
        for child in node.get("Plans", []):
            yield from scans(child)

    found = list(scans(plan[0]["Plan"]))
    assert found
    assert all(
        kind.startswith("Index") and name.endswith("asset_id_timeframe_candle_time_key")
        for kind, name in found
    ), found


SEED = """
    INSERT INTO price_data (asset_id, timeframe, candle_time, open_price, high_price, low_price,
        close_price, volume, is_validated)
    SELECT %s, %s, %s::timestamptz + n * %s::interval, 100, 101, 99, 100, 1, false
    FROM generate_series(0, %s - 1) AS n
"""


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.postgres
def test_the_refresh_reads_price_data_through_its_unique_index_only_once_partitions_have_statistics():
    # The planner's choice, not a forced one: with statistics saying a partition holds many
    # series, 0009's `asset = .. AND timeframe = .. ORDER BY candle_time DESC LIMIT 1` walked the
    # (timeframe, candle_time) index of these partitions backwards, through all of a timeframe's
    # rows for the assets lacking it (4.3 s at 1.07M candles in 24 partitions).
    months = [T0]
    while len(months) < 8:
        months.append(month_next(months[-1]))
    month_partitions_ensure(model=PriceData, months=months)
    assets = [AssetFactory() for _ in range(4)]
    with connection.cursor() as cursor:
        for n, asset in enumerate(assets):
            cursor.execute(SEED, [asset.pk, "1h", T0, "1 hour", 24 * 7 * 30])
            if n % 2 == 0:  # the other assets lack 15m candles
                cursor.execute(SEED, [asset.pk, "15m", T0, "15 minutes", 4 * 24 * 7 * 30])
        cursor.execute("ANALYZE price_data")
        cursor.execute("ANALYZE assets")
        cursor.execute("SELECT definition FROM pg_matviews WHERE matviewname = 'latest_candles'")
        definition = cursor.fetchone()[0].rstrip().rstrip(";")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {definition}")
        nodes = list(plan_nodes(cursor.fetchone()[0][0]["Plan"]))
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid"
            " JOIN pg_class c ON c.oid = x.indexrelid WHERE i.inhparent = 'price_data'::regclass"
            " AND x.indisunique AND pg_get_indexdef(x.indexrelid) LIKE '%%(asset_id, timeframe, candle_time)'"
        )
        unique_indexes = {name for (name,) in cursor.fetchall()}

    scans = [n for n in nodes if n.get("Relation Name", "").startswith("price_data")]
    assert len(scans) >= len(months)  # every partition, the seeded ones among them
    assert {n["Node Type"] for n in scans} == {"Index Scan"}, "no Seq Scan, no Bitmap Heap Scan"
    assert {n["Index Name"] for n in scans} <= unique_indexes
    aggregates.aggregates_refresh(views=["latest_candles"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (asset_id, timeframe) asset_id, timeframe, candle_time, close_price"
            " FROM price_data WHERE asset_id = ANY(%s) ORDER BY asset_id, timeframe, candle_time DESC",
            [[a.pk for a in assets]],
        )
        assert in_view() == set(cursor.fetchall())
    assert len(in_view()) == 6
