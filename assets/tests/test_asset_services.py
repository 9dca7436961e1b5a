"""asset_create: the one way an asset is created by a command (import_candles --create-asset)."""

import pytest
from django.core.exceptions import ValidationError

from assets.choices import AssetType
from assets.models import Asset
from assets.services.assets import asset_create

pytestmark = pytest.mark.django_db


def test_asset_create_upper_cases_the_symbol_and_names_the_asset_after_it():
    asset = asset_create(symbol=" ethbtc ")
    stored = Asset.objects.get(pk=asset.pk)
    assert (stored.symbol, stored.name, stored.asset_type) == ("ETHBTC", "ETHBTC", AssetType.CRYPTO)


def test_asset_create_refuses_what_the_model_refuses_by_field():
    asset_create(symbol="BTC", name="Bitcoin")
    with pytest.raises(ValidationError) as taken:
        asset_create(symbol="btc")
    assert "symbol" in taken.value.message_dict
    with pytest.raises(ValidationError) as bad:
        asset_create(symbol="SOL", asset_type="meme")
    assert list(bad.value.message_dict) == ["asset_type"]
    assert Asset.objects.count() == 1
