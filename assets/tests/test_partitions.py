"""Monthly partitions of the candle tables on PostgreSQL: rows land in their month, partitions are
created ahead and out of DEFAULT, archiving moves a whole month by partition and keeps every row."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.models import PriceData, PriceDataArchive
from assets.selectors import candle_partitions
from assets.services.archiving import candles_archive
from assets.services.deletion import asset_deletion_run, asset_deletion_start
from assets.services.partitions import candle_partitions_create, month_next, month_start
from assets.tasks import candle_partitions_task
from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MARCH = datetime(2024, 3, 1, tzinfo=UTC)


def settle():
    """Run the deferred foreign-key checks of the rows made so far, as a commit would.

    The test's rows share one transaction with the partition changes; PostgreSQL refuses to
    ALTER a table with checks still pending, which a real run (its own transaction) never has.
    """
    connection.check_constraints()


def partition_of(table: str, **filters) -> set[str]:
    """Return the partitions (tableoid) the rows of `table` matching `filters` are stored in."""
    model = {"price_data": PriceData, "price_data_archive": PriceDataArchive}[table]
    ids = list(model.objects.filter(**filters).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE id = ANY(%s)", [ids])
        return {row[0] for row in cursor.fetchall()}


def parent_of(table: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = to_regclass(%s)", [table]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def snapshot(candles) -> set[tuple]:
    """Return the id and values of the candles of a model or queryset."""
    candles = getattr(candles, "objects", candles)
    return set(candles.values_list("id", "asset_id", "timeframe", "candle_time", "close_price", "volume"))


def test_the_migration_partitions_both_tables_with_a_default_and_the_months_ahead():
    now = month_start(timezone.now())
    names = [p.name for p in candle_partitions(model=PriceData)]
    ahead = [now]
    for _ in range(3):
        ahead.append(month_next(ahead[-1]))
    assert names[-1] == "price_data_default"
    assert {f"price_data_p{m:%Y%m}" for m in ahead} <= set(names)
    assert [p.name for p in candle_partitions(model=PriceDataArchive)][-1] == "price_data_archive_default"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'price_data_pkey'"
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, candle_time)"


def test_rows_land_in_their_month_and_out_of_range_ones_in_default():
    asset = AssetFactory()
    this_month = month_start(timezone.now())
    PriceDataFactory(asset=asset, candle_time=this_month + timedelta(days=2))
    PriceDataFactory(asset=asset, candle_time=month_next(this_month) + timedelta(hours=5))
    PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=3))
    assert partition_of(
        "price_data", candle_time__gte=this_month, candle_time__lt=month_next(this_month)
    ) == {f"price_data_p{this_month:%Y%m}"}
    assert partition_of("price_data", candle_time__gte=month_next(this_month)) == {
        f"price_data_p{month_next(this_month):%Y%m}"
    }
    assert partition_of("price_data", candle_time__lt=this_month) == {"price_data_default"}


def test_creating_partitions_moves_default_rows_into_their_months_and_a_rerun_creates_nothing():
    asset = AssetFactory()
    for day in range(40):  # March and April 2024
        PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=day))
    PriceDataArchiveFactory(asset=asset, candle_time=datetime(2023, 7, 9, tzinfo=UTC))
    before = snapshot(PriceData), snapshot(PriceDataArchive)
    settle()

    created = candle_partitions_create(months_ahead=5)
    assert {"price_data_p202403", "price_data_p202404", "price_data_archive_p202307"} <= set(created)
    assert partition_of("price_data", candle_time__lt=datetime(2024, 4, 1, tzinfo=UTC)) == {
        "price_data_p202403"
    }
    assert partition_of("price_data", candle_time__gte=datetime(2024, 4, 1, tzinfo=UTC), asset=asset) == {
        "price_data_p202404"
    }
    assert partition_of("price_data_archive") == {"price_data_archive_p202307"}
    assert (snapshot(PriceData), snapshot(PriceDataArchive)) == before
    assert candle_partitions_create(months_ahead=5) == []


def test_constraints_hold_on_the_partitioned_tables():

    asset = AssetFactory()
    candle = PriceDataFactory(asset=asset, candle_time=MARCH)
    settle()
    candle_partitions_create()
    with pytest.raises(IntegrityError, match="duplicate key") as duplicate, transaction.atomic():
        PriceDataFactory(asset=asset, candle_time=MARCH)
    # The partition's index has its own name (test_constraints: the API names the table's constraint).
    assert "Key (asset_id, timeframe, candle_time)" in str(duplicate.value)
    with pytest.raises(IntegrityError, match="chk_ohlc_logic"), transaction.atomic():
        PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=1), high_price=Decimal("90"))
    with pytest.raises(IntegrityError, match="chk_timeframe_valid"), transaction.atomic():
        PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=2), timeframe="2d")
    assert PriceData.objects.get(pk=candle.pk) == candle

    candles_archive(older_than=timedelta(days=1))  # March moves whole: the archive's rules hold on it
    assert parent_of("price_data_archive_p202403") == "price_data_archive"
    with pytest.raises(IntegrityError, match="duplicate key") as duplicate, transaction.atomic():
        PriceDataArchiveFactory(asset=asset, candle_time=MARCH)
    assert "Key (asset_id, timeframe, candle_time)" in str(duplicate.value)
    with pytest.raises(IntegrityError, match="chk_archive_ohlc_logic"), transaction.atomic():
        PriceDataArchiveFactory(asset=asset, candle_time=MARCH + timedelta(days=1), low_price=Decimal("200"))


def test_archiving_a_whole_month_moves_its_partition_and_keeps_every_row():
    assets = AssetFactory.create_batch(2)
    for asset in assets:
        for hour in range(0, 31 * 24, 7):  # every seventh hour of March, both assets
            PriceDataFactory(asset=asset, timeframe="1h", candle_time=MARCH + timedelta(hours=hour))
    recent = PriceDataFactory(asset=assets[0], candle_time=month_start(timezone.now()))
    settle()
    candle_partitions_create()
    march = {row for row in snapshot(PriceData) if row[0] != recent.pk}

    with CaptureQueriesContext(connection) as queries:
        moved = candles_archive(older_than=timedelta(days=40))
    assert moved == len(march)
    sql = [q["sql"] for q in queries]
    assert any("DETACH PARTITION price_data_p202403" in s for s in sql)
    assert any("ATTACH PARTITION price_data_p202403" in s for s in sql)
    assert not any(s.startswith("INSERT INTO price_data_archive") for s in sql)  # no row copied
    assert parent_of("price_data_archive_p202403") == "price_data_archive"
    assert parent_of("price_data_p202403") is None
    assert snapshot(PriceDataArchive) == march  # same ids and values
    assert set(PriceData.objects.values_list("pk", flat=True)) == {recent.pk}
    archived = PriceDataArchive.objects.get(pk=next(iter(march))[0])  # ids stay unique: a pk finds one
    assert archived.archived_at is not None
    # The archive keeps its own indexes only: price_data's volume, (timeframe, time) and flag
    # ones are dropped; (asset, time) is the archive's too and stays.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'price_data_archive_p202403'::regclass"
        )
        assert cursor.fetchone()[0] == 4  # primary key, unique candle, candle_time, (asset, candle_time)


def test_a_month_the_archive_already_holds_is_copied_and_the_newer_candle_wins():
    asset = AssetFactory()
    candles = [PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=d)) for d in range(5)]
    PriceDataArchiveFactory(asset=asset, candle_time=candles[0].candle_time, close_price=Decimal("99"))
    settle()
    candle_partitions_create()

    assert candles_archive(older_than=timedelta(days=1)) == 5
    assert not PriceData.objects.filter(asset=asset).exists()
    assert PriceDataArchive.objects.count() == 5
    assert (
        PriceDataArchive.objects.get(candle_time=candles[0].candle_time).close_price == candles[0].close_price
    )
    assert parent_of("price_data_p202403") is None  # dropped after the copy
    assert partition_of("price_data_archive") == {"price_data_archive_p202403"}


def test_the_boundary_month_moves_row_by_row_into_its_archive_partition():
    asset = AssetFactory()
    april = datetime(2024, 4, 1, tzinfo=UTC)
    for day in range(30):
        PriceDataFactory(asset=asset, candle_time=april + timedelta(days=day))
    settle()
    candle_partitions_create()
    cutoff = april + timedelta(days=10, hours=-1)  # days 0-9 are older
    moved = candles_archive(older_than=timezone.now() - cutoff)
    assert moved == 10
    assert partition_of("price_data_archive") == {"price_data_archive_p202404"}
    assert partition_of("price_data", asset=asset) == {"price_data_p202404"}
    assert PriceData.objects.filter(asset=asset).count() == 20


class KilledAfterFirstPartition:
    total = None

    def update(self, n: int) -> None:
        raise KeyboardInterrupt("killed after the first partition")


def test_a_run_killed_between_partitions_loses_nothing_and_a_rerun_finishes():
    asset = AssetFactory()
    for day in range(0, 60, 2):  # March and April
        PriceDataFactory(asset=asset, candle_time=MARCH + timedelta(days=day))
    everything = {row[1:] for row in snapshot(PriceData)}
    settle()
    candle_partitions_create()
    with pytest.raises(KeyboardInterrupt):
        candles_archive(older_than=timedelta(days=1), progress=KilledAfterFirstPartition())
    assert parent_of("price_data_archive_p202403") == "price_data_archive"
    assert parent_of("price_data_p202404") == "price_data"  # not touched yet
    assert PriceData.objects.count() + PriceDataArchive.objects.count() == len(everything)

    assert candles_archive(older_than=timedelta(days=1)) == 14  # April; March (16) went first
    assert not PriceData.objects.exists()
    assert {row[1:] for row in snapshot(PriceDataArchive)} == everything


def test_a_timeframe_only_run_moves_rows_and_leaves_the_partitions():
    asset = AssetFactory()
    PriceDataFactory(asset=asset, timeframe="1d", candle_time=MARCH)
    kept = PriceDataFactory(asset=asset, timeframe="1h", candle_time=MARCH)
    settle()
    candle_partitions_create()
    assert candles_archive(older_than=timedelta(days=1), timeframe="1d") == 1
    assert parent_of("price_data_p202403") == "price_data"
    assert list(PriceData.objects.values_list("pk", flat=True)) == [kept.pk]
    assert partition_of("price_data_archive") == {"price_data_archive_p202403"}


def test_the_command_and_the_task_create_through_the_service(capsys):
    PriceDataFactory(candle_time=MARCH)
    settle()
    call_command("create_partitions", "--months-ahead", "6")
    out = capsys.readouterr().out
    assert out.startswith("created ") and "price_data_p202403" in out
    far = month_start(timezone.now())
    for _ in range(6):
        far = month_next(far)
    assert f"price_data_p{far:%Y%m}" in {p.name for p in candle_partitions(model=PriceData)}
    assert candle_partitions_task(months_ahead=6) == []  # idempotent
    call_command("create_partitions")
    assert capsys.readouterr().out.strip() == "created 0 partitions"
    with pytest.raises(CommandError, match="--months-ahead must be 0 or more"):
        call_command("create_partitions", "--months-ahead", "-1")


def test_deleting_an_asset_deletes_its_candles_only_in_every_partition(django_capture_on_commit_callbacks):
    doomed, kept = AssetFactory(), AssetFactory()
    april = datetime(2024, 4, 1, tzinfo=UTC)
    # Each partition's first row sits at the same place (ctid): only (partition, place) names one.
    PriceDataFactory(asset=doomed, candle_time=MARCH)
    PriceDataFactory(asset=kept, candle_time=april)
    PriceDataFactory(asset=kept, candle_time=MARCH + timedelta(days=1))
    PriceDataFactory(asset=doomed, candle_time=april + timedelta(days=1))
    settle()
    candle_partitions_create()
    survivors = snapshot(PriceData.objects.filter(asset=kept))
    with django_capture_on_commit_callbacks():
        deletion = asset_deletion_start(asset=doomed)
    asset_deletion_run(deletion_id=deletion.pk, batch_size=1)
    assert snapshot(PriceData.objects.all()) == survivors
