"""What the market data commands share: finding the asset."""

from django.core.management.base import CommandError

from assets.models import Asset
from cryptopredict.management.common import BAD_ARGUMENTS


def asset_get(symbol: str) -> Asset:
    """Return the asset with `symbol` (any case) or stop with a one-line error."""
    asset = Asset.objects.filter(symbol=symbol.strip().upper()).first()
    if asset is None:
        raise CommandError(f"unknown asset {symbol!r} (see import_assets)", returncode=BAD_ARGUMENTS)
    return asset
