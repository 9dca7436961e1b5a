"""Change history with old and new values on the objects people edit, and its retention."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from assets.models import Asset
from assets.tests.factories import AssetFactory
from sectors.tests.factories import SectorMappingFactory
from selection.tests.factories import PortfolioFactory
from trading.tests.factories import TradeActionFactory

pytestmark = pytest.mark.django_db


def test_history_page_shows_old_and_new_values(admin_client):
    asset = AssetFactory(symbol="BTC", name="Bitcoin")
    asset.name = "Bitcoin Core"
    asset.save()

    page = admin_client.get(reverse("admin:assets_asset_history", args=[asset.pk])).content.decode()

    assert "Bitcoin Core" in page and "Bitcoin" in page
    assert asset.change_history.count() == 2
    assert list(asset.change_history.values_list("name", flat=True)) == ["Bitcoin Core", "Bitcoin"]


def test_the_edited_objects_keep_history():
    mapping = SectorMappingFactory()
    portfolio = PortfolioFactory()
    trade = TradeActionFactory(portfolio=portfolio)
    for obj in (mapping, mapping.sector, portfolio, trade):
        assert obj.change_history.count() == 1, type(obj)


def test_revert_from_history_is_disabled(admin_client):
    asset = AssetFactory()
    record = asset.change_history.first()
    response = admin_client.post(
        reverse("admin:assets_asset_simple_history", args=[asset.pk, record.history_id]), {"name": "x"}
    )
    assert response.status_code == 403
    assert Asset.objects.get(pk=asset.pk).name == asset.name


def test_prune_history_keeps_the_retention_window(settings):
    settings.HISTORY_RETENTION_DAYS = 30
    asset = AssetFactory(name="v1")
    asset.name = "v2"
    asset.save()
    asset.change_history.filter(name="v1").update(history_date=timezone.now() - timedelta(days=31))

    output = StringIO()
    call_command("prune_history", stdout=output)

    assert list(asset.change_history.values_list("name", flat=True)) == ["v2"]
    assert "history older than 30 days pruned" in output.getvalue()
