"""Deleting an asset with all it owns, in batches: `asset_deletion_start`, then the job runs it."""

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cryptopredict.aggregates import aggregates_refresh_soon
from cryptopredict.choices import JobStatus
from cryptopredict.statistics import statistics_gather

from ..candle_cache import candles_changed
from ..models import Asset, AssetDeletion, LatestCandle, PriceData, PriceDataArchive

BATCH_SIZE = 10_000
CANDLE_MODELS = (PriceData, PriceDataArchive)


def asset_deletion_start(*, asset: Asset, user=None) -> AssetDeletion:
    """Queue the deletion of `asset` (its candles first, in batches); return the job.

    Without a broker the job runs in-process once the caller's transaction commits.
    """
    from ..tasks import asset_deletion_task

    total = sum(model.objects.filter(asset=asset).count() for model in CANDLE_MODELS)
    deletion = AssetDeletion.objects.create(
        asset=asset, symbol=asset.symbol, candles_total=total, requested_by=user
    )
    transaction.on_commit(lambda: asset_deletion_task.delay(deletion.pk))
    return deletion


def asset_deletion_run(*, deletion_id: int, batch_size: int = BATCH_SIZE) -> AssetDeletion | None:
    """Run a deletion job to its end: candles in batches of `batch_size`, then the asset.

    Each batch is one transaction that also counts its rows into the job, so the progress shown
    is what is gone; a crashed or failed job is run again from where it stopped. Return the job,
    or None if it is not pending or failed (another worker has it, or it is done).
    """
    claimed = AssetDeletion.objects.filter(
        pk=deletion_id, status__in=[JobStatus.PENDING, JobStatus.FAILED]
    ).update(status=JobStatus.RUNNING, started_at=timezone.now(), error_message=None)
    if not claimed:
        return None
    deletion = AssetDeletion.objects.get(pk=deletion_id)
    try:
        if deletion.asset_id is not None:
            for model in CANDLE_MODELS:
                _candles_delete(deletion, model, batch_size)
            with transaction.atomic():
                # No candles are left: the collector only visits the asset's few other rows.
                Asset.objects.filter(pk=deletion.asset_id).delete()
                candles_changed(asset_id=deletion.asset_id)
                aggregates_refresh_soon(views=[LatestCandle.VIEW])
        AssetDeletion.objects.filter(pk=deletion_id).update(
            status=JobStatus.COMPLETED, finished_at=timezone.now()
        )
    except Exception as error:
        AssetDeletion.objects.filter(pk=deletion_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), error_message=str(error)[:2000]
        )
        raise
    statistics_gather(*CANDLE_MODELS)
    deletion.refresh_from_db()
    return deletion


def _candles_delete(deletion: AssetDeletion, model, batch_size: int) -> None:
    """Delete the asset's candles of one table, walking its (asset, timeframe, candle_time) index.

    Each batch starts after the last key deleted, so it never re-reads the dead index entries
    that earlier batches left behind.
    """
    after = None
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                deleted, after = _batch_delete_postgres(model, deletion.asset_id, after, batch_size)
            else:
                deleted, after = _batch_delete_orm(model, deletion.asset_id, after, batch_size)
            if not deleted:
                return
            AssetDeletion.objects.filter(pk=deletion.pk).update(
                candles_deleted=F("candles_deleted") + deleted, updated_at=timezone.now()
            )


def _batch_delete_postgres(model, asset_id: int, after, batch_size: int):
    table = model._meta.db_table
    where, params = "asset_id = %s", [asset_id]
    if after is not None:
        where += " AND (timeframe, candle_time) > (%s, %s)"
        params += list(after)
    sql = f"""
        WITH batch AS (
            SELECT tableoid, ctid, timeframe, candle_time FROM {table} WHERE {where}
            ORDER BY timeframe, candle_time LIMIT %s
        ), gone AS (
            -- A ctid is a place in one partition: with the partition's oid it names one row.
            DELETE FROM {table} WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM batch) RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone), last.timeframe, last.candle_time
        FROM (SELECT timeframe, candle_time FROM batch ORDER BY timeframe DESC, candle_time DESC LIMIT 1) last
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, batch_size])
        row = cursor.fetchone()
    return (0, after) if row is None else (row[0], (row[1], row[2]))


def _batch_delete_orm(model, asset_id: int, after, batch_size: int):
    candles = model.objects.filter(asset_id=asset_id).order_by("timeframe", "candle_time")
    rows = list(candles.values_list("pk", "timeframe", "candle_time")[:batch_size])
    if not rows:
        return 0, after
    model.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()  # one DELETE: nothing cascades
    return len(rows), rows[-1][1:]
