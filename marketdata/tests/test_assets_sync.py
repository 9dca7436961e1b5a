"""sync_assets against a local CoinGecko API: /coins/markets pages and market_chart."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.models import Asset, PriceData
from assets.tests.factories import AssetFactory, PriceDataFactory

pytestmark = pytest.mark.django_db
MARKETS = (
    Path(__file__).parents[2] / "assets" / "tests" / "fixtures" / "coingecko_markets_btc_2024-12-10.json"
)
DAY = datetime(2024, 12, 8, tzinfo=UTC)


def ms(moment):
    return int(moment.timestamp() * 1000)


@pytest.fixture
def coingecko(local_server, settings):
    settings.COINGECKO_API_URL = f"{local_server.url}/api/v3"
    settings.COINGECKO_API_KEY = "demo-key"
    settings.COINGECKO_CAP_DAYS = 3
    pages = {"1": json.loads(MARKETS.read_text()), "2": []}
    local_server.routes["/api/v3/coins/markets"] = lambda query: (200, {}, pages[query["page"]])
    chart = {  # daily points at 00:00 UTC, then the live one
        "prices": [
            [ms(DAY), 100000.1],
            [ms(DAY + timedelta(days=1)), 99000.2],
            [ms(DAY + timedelta(days=2, hours=9)), 97000.5],
        ],
        "market_caps": [
            [ms(DAY), 1980000000000.123],
            [ms(DAY + timedelta(days=1)), 1960000000000.5],
            [ms(DAY + timedelta(days=2, hours=9)), 1920000000000.25],
        ],
        "total_volumes": [
            [ms(DAY), 5.1e10],
            [ms(DAY + timedelta(days=1)), 4.9e10],
            [ms(DAY + timedelta(days=2, hours=9)), 6e10],
        ],
    }
    local_server.routes["/api/v3/coins/bitcoin/market_chart"] = lambda query: (200, {}, chart)
    return local_server


def test_markets_pages_and_daily_market_caps_are_synced(coingecko, capsys):
    btc = AssetFactory(
        symbol="BTC", external_ids={"coingecko": "bitcoin", "binance": "BTCUSDT"}, market_cap_rank=1
    )
    candles = [
        PriceDataFactory(asset=btc, candle_time=DAY + timedelta(days=n), market_cap=None) for n in range(2)
    ]

    call_command("sync_assets", "--pages", "2")

    btc.refresh_from_db()
    assert btc.current_price == Decimal("97457") and btc.price_change_percentage_7d is not None
    assert btc.external_ids == {"coingecko": "bitcoin", "binance": "BTCUSDT"}  # the market id is kept
    assert btc.last_price_update is not None
    caps = dict(PriceData.objects.filter(asset=btc).values_list("candle_time", "market_cap"))
    assert caps == {
        candles[0].candle_time: Decimal("1980000000000.12"),
        candles[1].candle_time: Decimal("1960000000000.50"),
    }
    out = capsys.readouterr().out
    assert (
        "coingecko: 1 pages, assets 0 created, 1 updated" in out
        and "market caps on 2 daily candles (1 days" in out
    )
    markets = coingecko.hits("/api/v3/coins/markets")
    assert markets[0]["vs_currency"] == "usd" and markets[0]["price_change_percentage"] == "24h,7d,30d"
    assert [q["page"] for q in markets] == ["1", "2"]  # an empty page ends the listing


def test_the_key_goes_in_the_demo_header_and_a_429_is_retried(coingecko, settings, waits):
    seen = []
    answers = iter(
        [
            (
                429,
                {"Retry-After": "2"},
                b'{"status":{"error_code":429,"error_message":"You\'ve exceeded the Rate Limit."}}',
            )
        ]
    )

    def markets(query):
        return next(answers, (200, {}, []))

    coingecko.routes["/api/v3/coins/markets"] = markets
    from marketdata.clients.coingecko import CoinGecko

    client = CoinGecko()
    seen.append(client.session.headers.get("x-cg-demo-api-key"))
    assert client.markets(1) == [] and waits == [2.0] and seen == ["demo-key"]
    settings.COINGECKO_API_URL = "https://pro-api.coingecko.com/api/v3"
    assert CoinGecko().session.headers.get("x-cg-pro-api-key") == "demo-key"


def test_a_failing_source_is_one_line(coingecko, settings):
    settings.SOURCE_RETRIES = 0
    coingecko.routes["/api/v3/coins/markets"] = lambda query: (503, {}, b"<html>Service Unavailable</html>")
    with pytest.raises(
        CommandError, match=r"^coingecko: GET coins/markets answered 503 \(1 attempts\)$"
    ) as error:
        call_command("sync_assets")
    assert error.value.returncode == 1
    assert not Asset.objects.exists()
