"""Deleting an asset: a summary by count on the admin's page, then a batched job with progress."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.models import Asset, AssetDeletion, PriceData, PriceDataArchive
from assets.services import deletion as deletion_service
from assets.services.deletion import asset_deletion_run, asset_deletion_start
from assets.tests.factories import AssetFactory, PriceDataArchiveFactory, PriceDataFactory
from cryptopredict.choices import JobStatus
from sectors.tests.factories import SectorMappingFactory
from selection.tests.factories import WatchlistAssetFactory
from users.tests.factories import AdminUserFactory


@pytest.fixture
def staff_client(client):
    user = AdminUserFactory()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def asset():
    asset = AssetFactory(symbol="DOOM")
    PriceDataFactory.create_batch(7, asset=asset)
    PriceDataArchiveFactory.create_batch(2, asset=asset)
    SectorMappingFactory(asset=asset)
    return asset


@pytest.mark.django_db
def test_delete_page_summarises_by_count_without_loading_candles(staff_client, asset):
    other = PriceDataFactory()  # another asset's candle stays
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("admin:assets_asset_delete", args=[asset.pk]))

    assert response.status_code == 200
    summary = dict(response.context["model_count"])
    assert summary["price data"] == 7
    assert summary["price data archive"] == 2
    assert summary["sector mappings"] == 1
    assert "7 price data" in response.content.decode()
    # Candles are counted, never selected one by one.
    candle_reads = [q["sql"] for q in queries if 'FROM "price_data"' in q["sql"]]
    assert candle_reads and all("COUNT(" in sql.upper() for sql in candle_reads)
    assert PriceData.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db
def test_protected_asset_names_what_protects_it(staff_client, asset):
    WatchlistAssetFactory(asset=asset)
    response = staff_client.get(reverse("admin:assets_asset_delete", args=[asset.pk]))
    assert response.status_code == 200
    assert any(line.startswith("Watchlist item: ") for line in response.context["protected"])

    response = staff_client.post(reverse("admin:assets_asset_delete", args=[asset.pk]), {"post": "yes"})
    assert Asset.objects.filter(pk=asset.pk).exists()
    assert not AssetDeletion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_confirmed_delete_runs_the_job_in_batches_and_reports_progress(staff_client, asset, monkeypatch):
    monkeypatch.setattr("assets.services.deletion.BATCH_SIZE", 3)
    kept = PriceDataFactory()

    response = staff_client.post(reverse("admin:assets_asset_delete", args=[asset.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert response.url == reverse("admin:assets_assetdeletion_changelist")
    deletion = AssetDeletion.objects.get()
    assert (deletion.symbol, deletion.status, deletion.requested_by) == (
        "DOOM",
        JobStatus.COMPLETED,
        staff_client.user,
    )
    assert (deletion.candles_total, deletion.candles_deleted, deletion.progress_percent) == (9, 9, 100)
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert not PriceData.objects.filter(asset_id=asset.pk).exists()
    assert not PriceDataArchive.objects.filter(asset_id=asset.pk).exists()
    assert PriceData.objects.filter(pk=kept.pk).exists()
    page = staff_client.get(response.url)
    assert "100%" in page.content.decode()


@pytest.mark.django_db
def test_each_batch_counts_what_it_deleted_and_a_rerun_finishes(asset, monkeypatch):
    deletion = AssetDeletion.objects.create(asset=asset, symbol=asset.symbol, candles_total=9)
    name = "_batch_delete_postgres" if connection.vendor == "postgresql" else "_batch_delete_orm"
    original = getattr(deletion_service, name)

    def failing_on_archive(model, *args):
        if model is PriceDataArchive:
            raise RuntimeError("disk full")
        return original(model, *args)

    # Live candles go in batches of 4 (7 = 4 + 3); then the archive fails, and the job says so.
    monkeypatch.setattr(deletion_service, name, failing_on_archive)
    with pytest.raises(RuntimeError):
        asset_deletion_run(deletion_id=deletion.pk, batch_size=4)
    deletion.refresh_from_db()
    assert (deletion.status, deletion.candles_deleted) == (JobStatus.FAILED, 7)
    assert "disk full" in deletion.error_message
    assert PriceDataArchive.objects.filter(asset=asset).count() == 2

    monkeypatch.undo()
    finished = asset_deletion_run(deletion_id=deletion.pk, batch_size=4)
    assert (finished.status, finished.candles_deleted) == (JobStatus.COMPLETED, 9)
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert asset_deletion_run(deletion_id=deletion.pk) is None  # done: not run twice


@pytest.mark.django_db
def test_start_counts_the_candles_and_queues_after_commit(django_capture_on_commit_callbacks, asset):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deletion = asset_deletion_start(asset=asset)
    assert (deletion.status, deletion.candles_total) == (JobStatus.PENDING, 9)
    assert len(callbacks) == 1
    assert Asset.objects.filter(pk=asset.pk).exists()  # nothing is deleted before the commit
