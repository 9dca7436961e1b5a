"""Holdings and portfolios are valued at the latest close, read from the latest-candle view."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.models import PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.choices import TIMEFRAME_DELTAS
from selection.selectors import holdings_valued, portfolios_valued
from selection.tests.factories import PortfolioAssetFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def latest_close_by_hand(asset) -> Decimal | None:
    """The close of the asset's candle that closes last: latest open time, then the longer period."""
    candles = list(PriceData.objects.filter(asset=asset))
    if not candles:
        return None
    last = max(candles, key=lambda c: (c.candle_time, TIMEFRAME_DELTAS.get(c.timeframe, timedelta(days=31))))
    return last.close_price


def candle(asset, timeframe, candle_time, close):
    price = Decimal(close)
    return PriceDataFactory(
        asset=asset, timeframe=timeframe, candle_time=candle_time,
        open_price=price, high_price=price, low_price=price, close_price=price,
    )  # fmt: skip


def test_holdings_are_valued_at_the_latest_close_of_any_timeframe():
    btc, eth, new = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH"), AssetFactory(symbol="NEW")
    for hour, close in enumerate((100, 101, 102)):
        candle(btc, "1h", T0 + timedelta(hours=hour), close)
    candle(btc, "1d", T0 - timedelta(days=1), 90)
    # ETH: a 1h and a 1d candle open at the same time; the daily one closes later.
    candle(eth, "1h", T0, 50)
    candle(eth, "1d", T0, 55)
    portfolio = PortfolioFactory()
    for asset, quantity in ((btc, "2"), (eth, "3"), (new, "4")):
        PortfolioAssetFactory(
            portfolio=portfolio, asset=asset, quantity=Decimal(quantity), cost_basis=Decimal(10)
        )

    with CaptureQueriesContext(connection) as queries:
        holdings = {h.asset.symbol: h for h in holdings_valued(portfolio.holdings.select_related("asset"))}
    assert len(queries) == 1

    assert holdings["BTC"].current_price == latest_close_by_hand(btc) == 102
    assert holdings["ETH"].current_price == latest_close_by_hand(eth) == 55
    assert holdings["BTC"].current_value == 2 * latest_close_by_hand(btc)
    assert holdings["ETH"].unrealized_pnl == 3 * latest_close_by_hand(eth) - 10
    # No candle: the quoted current_price, as before.
    assert holdings["NEW"].current_price == new.current_price
    valued = portfolios_valued().get(pk=portfolio.pk)
    assert valued.current_value == 2 * Decimal(102) + 3 * Decimal(55) + 4 * new.current_price
