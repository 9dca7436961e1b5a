"""Move old candles to price_data_archive in batches."""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from cryptopredict.statistics import statistics_gather
from cryptopredict.timeframes import timeframe_check

from ..candle_columns import CANDLE_COLUMNS
from ..models import INDICATOR_FIELDS, PriceData, PriceDataArchive
from .results import Progress

# The identity first (kept on a conflict), then what an archived copy takes from the live candle.
ARCHIVE_COLUMNS = (
    "asset_id",
    "timeframe",
    *CANDLE_COLUMNS.values(),
    *INDICATOR_FIELDS,
    "is_validated",
    "is_price_point",
    "created_at",
    "updated_at",
)


def _archive_sql(count: int) -> str:
    columns = ", ".join(ARCHIVE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ARCHIVE_COLUMNS[3:])
    placeholders = ", ".join(["%s"] * count)
    # The candle being archived is the newest version: it replaces an older archived copy.
    return (
        f"INSERT INTO price_data_archive ({columns}) SELECT {columns} FROM price_data "
        f"WHERE id IN ({placeholders}) "
        f"ON CONFLICT (asset_id, timeframe, candle_time) DO UPDATE SET {updates}"
    )


def candles_archive(
    *,
    older_than: timedelta,
    timeframe: str | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> int:
    """Move candles that opened more than `older_than` ago to price_data_archive; return how many.

    Each batch is one transaction (copy into the archive, then delete the same ids), so a crash
    between batches loses nothing and a rerun finishes the job.
    """
    if timeframe is not None:
        timeframe_check(timeframe)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    candles = PriceData.objects.filter(candle_time__lt=timezone.now() - older_than)
    if timeframe:
        candles = candles.filter(timeframe=timeframe)
    if progress is not None:
        progress.total = candles.count()
    moved = 0
    while True:
        with transaction.atomic():
            ids = list(candles.order_by("pk").select_for_update().values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            with connection.cursor() as cursor:
                cursor.execute(_archive_sql(len(ids)), ids)
            PriceData.objects.filter(pk__in=ids).delete()
        moved += len(ids)
        if progress is not None:
            progress.update(len(ids))
    if moved:
        statistics_gather(PriceData, PriceDataArchive)
    return moved
