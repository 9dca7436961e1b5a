"""The portfolio chart's data: daily value with cash against BTC, allocation and PnL per holding."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.tests.factories import AssetFactory, PriceDataFactory
from selection.tests.factories import PortfolioFactory
from trading.services import trade_action_create

pytestmark = pytest.mark.django_db
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
BTC_CLOSES = [40000, 42000, 41000, 44000, 45000, 43000]
ETH_CLOSES = [2000, 2100, 2200, 2000, 2300, 2400]
# (day, symbol, side, quantity, price): executed during the day, before its close.
TRADES = [
    (1, "BTC", "buy", "0.1", "42000"),
    (2, "ETH", "buy", "1", "2200"),
    (4, "BTC", "sell", "0.05", "45000"),
]


@pytest.fixture
def portfolio():
    assets = {symbol: AssetFactory(symbol=symbol) for symbol in ("BTC", "ETH")}
    for symbol, closes in (("BTC", BTC_CLOSES), ("ETH", ETH_CLOSES)):
        for day, close in enumerate(closes):
            PriceDataFactory(
                asset=assets[symbol],
                candle_time=DAY0 + timedelta(days=day),
                **dict.fromkeys(("open_price", "high_price", "low_price", "close_price"), Decimal(close)),
            )
    portfolio = PortfolioFactory(track_cash=True, cash_balance=Decimal("10000"))
    for day, symbol, side, quantity, price in TRADES:
        trade_action_create(
            portfolio=portfolio,
            asset=assets[symbol],
            user=portfolio.user,
            action_type=side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            fee=Decimal("1"),
            executed_at=DAY0 + timedelta(days=day, hours=12),
        )
    portfolio.refresh_from_db()
    return portfolio


def forward_values():
    """Replay the trades forward from the first cash and value each day at its close."""
    cash, held, values = 10000.0, {"BTC": 0.0, "ETH": 0.0}, []
    for day in range(len(BTC_CLOSES)):
        for trade_day, symbol, side, quantity, price in TRADES:
            if trade_day == day:
                amount = float(quantity) * float(price)
                sign = 1 if side == "buy" else -1
                held[symbol] += sign * float(quantity)
                cash += -amount - 1 if side == "buy" else amount - 1
        values.append((cash + held["BTC"] * BTC_CLOSES[day] + held["ETH"] * ETH_CLOSES[day], cash))
    return values


def url(portfolio):
    return reverse("admin:chart_portfolio", args=[portfolio.pk])


def test_daily_value_with_cash_against_btc(admin_client, portfolio):
    body = admin_client.get(url(portfolio)).json()

    want = forward_values()
    assert body["time"] == [int((DAY0 + timedelta(days=d)).timestamp()) for d in range(6)]
    assert body["value"] == pytest.approx([v for v, _ in want])
    assert body["cash"] == pytest.approx([c for _, c in want])
    assert body["cash"][-1] == float(portfolio.cash_balance)
    assert body["benchmark"] == pytest.approx([want[0][0] * c / BTC_CLOSES[0] for c in BTC_CLOSES])
    assert body["more"] is False


def test_allocation_and_pnl_per_holding_as_the_api_values_them(admin_client, portfolio):
    body = admin_client.get(url(portfolio)).json()

    holdings = {h["asset"]: h for h in body["holdings"]}
    assert holdings["BTC"]["quantity"] == 0.05 and holdings["BTC"]["value"] == pytest.approx(0.05 * 43000)
    btc_cost = (0.1 * 42000 + 1) / 2
    assert holdings["BTC"]["unrealized_pnl"] == pytest.approx(0.05 * 43000 - btc_cost)
    assert holdings["BTC"]["realized_pnl"] == pytest.approx(0.05 * 45000 - 1 - btc_cost)
    assert holdings["ETH"]["value"] == 2400 and holdings["ETH"]["unrealized_pnl"] == pytest.approx(
        2400 - 2201
    )
    api = admin_client.get(f"/api/portfolios/{portfolio.pk}/")
    if api.status_code == 200 and "current_value" in api.json():
        assert float(api.json()["current_value"]) == pytest.approx(sum(h["value"] for h in body["holdings"]))
    assert body["cash_now"] == float(portfolio.cash_balance)


def test_window_of_days_up_to_an_end(admin_client, portfolio):
    end = int((DAY0 + timedelta(days=3)).timestamp())
    body = admin_client.get(url(portfolio), {"days": 2, "end": end}).json()
    assert body["time"] == [int((DAY0 + timedelta(days=d)).timestamp()) for d in (2, 3)]
    assert body["value"] == pytest.approx([v for v, _ in forward_values()[2:4]])
    assert body["more"] is True  # the sell of day 4 was undone: older days exist


def test_queries_do_not_grow_with_the_window(admin_client, portfolio):
    with CaptureQueriesContext(connection) as small:
        admin_client.get(url(portfolio), {"days": 2})
    with CaptureQueriesContext(connection) as large:
        admin_client.get(url(portfolio), {"days": 6})
    assert len(small) == len(large)


def test_bad_query_is_a_400_naming_the_field(admin_client, portfolio):
    response = admin_client.get(url(portfolio), {"days": 0, "end": "x"})
    assert response.status_code == 400 and set(response.json()) == {"days", "end"}


def test_change_page_carries_the_chart(admin_client, portfolio):
    page = admin_client.get(reverse("admin:selection_portfolio_change", args=[portfolio.pk])).content.decode()
    assert 'data-chart="portfolio"' in page and url(portfolio) in page
