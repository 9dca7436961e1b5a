"""Real BTC and ETH daily history (CoinGecko, March 2019 to December 2021) loaded the way seed_demo does."""

from pathlib import Path

from assets.models import Asset
from assets.services.importing import candles_import
from assets.tests.factories import AssetFactory
from macro.services.snapshots import snapshots_build

DATA = Path(__file__).parent / "data"
SUPPLY = {"BTC": 19_000_000, "ETH": 120_000_000}


def real_market(*, snapshots: bool = True) -> dict[str, Asset]:
    """Create BTC and ETH, import their real daily candles and (optionally) build the snapshots."""
    assets = {}
    for symbol in ("BTC", "ETH"):
        asset = AssetFactory(
            symbol=symbol, name=symbol, circulating_supply=SUPPLY[symbol], total_supply=None, max_supply=None
        )
        candles_import(
            path=DATA / f"coingecko_{symbol.lower()}-usd-2019-2021.csv", asset=asset, timeframe="1d"
        )
        assets[symbol] = asset
    if snapshots:
        snapshots_build(timeframe="1d")
    return assets
