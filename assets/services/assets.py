"""Writes on one asset."""

from ..choices import AssetType
from ..models import Asset


def asset_create(
    *, symbol: str, name: str | None = None, asset_type: str = AssetType.CRYPTO, **fields
) -> Asset:
    """Create the asset `symbol` (upper-cased; named after it unless `name`) after the model's checks.

    Raises ValidationError naming each field the model refuses (a symbol too long, a taken one...).
    """
    symbol = symbol.strip().upper()
    asset = Asset(symbol=symbol, name=name or symbol, asset_type=asset_type, **fields)
    asset.full_clean()
    asset.save()
    return asset
