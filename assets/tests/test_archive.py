"""Archiving candles: exactly the old ones move, batch by batch, and a crash loses nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assets.models import PriceData, PriceDataArchive
from assets.services.archiving import candles_archive
from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory

pytestmark = pytest.mark.django_db


class CrashAfterFirstBatch:
    """A progress sink that fails once the first batch is committed, like a killed process."""

    total = None

    def update(self, n: int) -> None:
        raise KeyboardInterrupt("killed between batches")


def candles(asset, days_ago: range, timeframe: str = "1d") -> list:
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        PriceDataFactory(asset=asset, timeframe=timeframe, candle_time=today - timedelta(days=d))
        for d in days_ago
    ]


def test_archive_moves_exactly_the_old_candles():
    asset = AssetFactory()
    old = candles(asset, range(400, 410))
    recent = candles(asset, range(1, 6))
    old_hours = candles(asset, range(500, 503), timeframe="1h")
    moved = candles_archive(older_than=timedelta(days=365), timeframe="1d", batch_size=3)
    assert moved == len(old)
    archived = PriceDataArchive.objects.filter(asset=asset)
    assert sorted(archived.values_list("candle_time", flat=True)) == sorted(c.candle_time for c in old)
    assert set(PriceData.objects.values_list("pk", flat=True)) == {c.pk for c in recent + old_hours}
    kept = archived.get(candle_time=old[0].candle_time)
    assert (kept.open_price, kept.close_price, kept.volume) == (
        old[0].open_price,
        old[0].close_price,
        old[0].volume,
    )
    assert candles_archive(older_than=timedelta(days=365), timeframe="1d") == 0  # nothing left to do


def test_a_run_killed_between_batches_loses_nothing_and_a_rerun_finishes():
    asset = AssetFactory()
    old = candles(asset, range(400, 407))
    with pytest.raises(KeyboardInterrupt):
        candles_archive(older_than=timedelta(days=365), batch_size=3, progress=CrashAfterFirstBatch())
    # The first batch is committed whole; every candle is in exactly one table.
    assert PriceDataArchive.objects.count() == 3 and PriceData.objects.count() == 4
    assert candles_archive(older_than=timedelta(days=365), batch_size=3) == 4
    assert PriceData.objects.count() == 0
    assert sorted(PriceDataArchive.objects.values_list("candle_time", flat=True)) == sorted(
        c.candle_time for c in old
    )


def test_an_archived_copy_is_replaced_by_the_newer_candle():
    asset = AssetFactory()
    [candle] = candles(asset, range(400, 401))
    PriceDataArchiveFactory(asset=asset, candle_time=candle.candle_time, close_price=candle.close_price - 1)
    assert candles_archive(older_than=timedelta(days=365)) == 1
    assert PriceDataArchive.objects.get().close_price == candle.close_price
    assert not PriceData.objects.exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown timeframe"):
        candles_archive(older_than=timedelta(days=1), timeframe="2d")
    with pytest.raises(ValueError, match="batch_size"):
        candles_archive(older_than=timedelta(days=1), batch_size=0)
