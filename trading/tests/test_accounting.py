"""Portfolio accounting through trade_action_create / trade_action_execute, checked by hand."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from assets.tests.factories import AssetFactory, PriceDataFactory
from selection.models import Portfolio, PortfolioAsset
from selection.selectors import holdings_valued, portfolios_valued
from selection.tests.factories import PortfolioFactory
from trading.choices import TradeStatus
from trading.models import TradeAction
from trading.services import trade_action_create, trade_action_execute
from trading.tests.factories import TradeActionFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def portfolio():
    return PortfolioFactory(track_cash=True, cash_balance=D("10000"))


@pytest.fixture
def asset():
    asset = AssetFactory(current_price=D("999"))
    # The latest candle (by candle_time) closes at 130; an older one at 105.
    PriceDataFactory(asset=asset, candle_time=datetime(2024, 1, 1, tzinfo=UTC), close_price=D("105"))
    PriceDataFactory(
        asset=asset,
        candle_time=datetime(2024, 1, 2, tzinfo=UTC),
        high_price=D("135"),
        close_price=D("130"),
    )
    return asset


def trade(portfolio, asset, action_type, quantity, price, fee):
    return trade_action_create(
        portfolio=portfolio,
        asset=asset,
        user=portfolio.user,
        action_type=action_type,
        quantity=D(quantity),
        price=D(price),
        fee=D(fee),
    )


def holding_of(portfolio, asset):
    return PortfolioAsset.objects.get(portfolio=portfolio, asset=asset)


def test_buy_buy_sell_sell_matches_hand_computed_average_cost_and_pnl(portfolio, asset):
    # Buy 2 @ 100, fee 1: cost 201, average 100.5, cash 10000 - 201 = 9799.
    first = trade(portfolio, asset, "buy", "2", "100", "1")
    assert first.status == TradeStatus.EXECUTED and first.executed_at is not None
    assert first.total_value == D("200")
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(2), D("201"), D("100.5"))
    assert held.first_purchase_at == first.executed_at

    # Buy 3 @ 110, fee 1.5: cost 331.5; 5 units for 532.5, average 106.5; cash 9467.5.
    trade(portfolio, asset, "buy", "3", "110", "1.5")
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(5), D("532.5"), D("106.5"))
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D("9467.5")

    # Sell 1 @ 120, fee 0.6: proceeds 119.4, cost sold 532.5 / 5 = 106.5, realized 12.9.
    trade(portfolio, asset, "sell", "1", "120", "0.6")
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(4), D("426"), D("106.5"))
    assert held.realized_pnl == D("12.9")
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D("9586.9")
    # Cached totals: 4 units at the latest close 130 = 520, cost 426.
    assert (portfolio.total_value, portfolio.total_cost_basis) == (D("520"), D("426"))

    # Sell the remaining 4 @ 90, fee 1.8: proceeds 358.2, cost sold 426, realized 12.9 - 67.8 = -54.9.
    last = trade(portfolio, asset, "sell", "4", "90", "1.8")
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(0), D(0), D(0))
    assert held.realized_pnl == D("-54.9")
    assert held.last_transaction_at == last.executed_at
    portfolio.refresh_from_db()
    # Cash change equals realized PnL: 10000 - 201 - 331.5 + 119.4 + 358.2 = 9945.1.
    assert portfolio.cash_balance == D("9945.1")
    assert (portfolio.total_value, portfolio.total_cost_basis) == (D(0), D(0))


def test_partial_sell_uses_average_cost_with_many_decimals(portfolio, asset):
    trade(portfolio, asset, "buy", "3", "1", "0")  # cost 3, average 1
    trade(portfolio, asset, "buy", "0.00000001", "70000", "0")  # + 0.0007
    held = holding_of(portfolio, asset)
    assert held.cost_basis == D("3.0007")
    # SQLite keeps 15 significant digits (REAL); PostgreSQL keeps all 18 decimals.
    average = (D("3.0007") / D("3.00000001")).quantize(D("1e-12"))
    assert held.average_buy_price.quantize(D("1e-12")) == average
    trade(portfolio, asset, "sell", "1", "2", "0")
    held = holding_of(portfolio, asset)
    cost_sold = (D("3.0007") / D("3.00000001")).quantize(D("1e-8"))
    assert held.cost_basis == D("3.0007") - cost_sold
    assert held.realized_pnl == D(2) - cost_sold


def test_oversell_is_refused_and_changes_nothing(portfolio, asset):
    trade(portfolio, asset, "buy", "2", "100", "1")
    before = holding_of(portfolio, asset)
    portfolio.refresh_from_db()
    cash = portfolio.cash_balance
    with pytest.raises(ValidationError) as error:
        trade(portfolio, asset, "sell", "2.5", "120", "0")
    assert "quantity" in error.value.message_dict
    assert "holds 2" in error.value.message_dict["quantity"][0]
    after = holding_of(portfolio, asset)
    assert (after.quantity, after.cost_basis, after.realized_pnl) == (
        before.quantity,
        before.cost_basis,
        before.realized_pnl,
    )
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == cash
    assert TradeAction.objects.filter(portfolio=portfolio).count() == 1


def test_sell_without_a_holding_is_refused(portfolio, asset):
    with pytest.raises(ValidationError) as error:
        trade(portfolio, asset, "sell", "1", "100", "0")
    assert "quantity" in error.value.message_dict
    assert not PortfolioAsset.objects.filter(portfolio=portfolio).exists()


def test_buy_beyond_cash_is_refused_when_tracking_cash(portfolio, asset):
    with pytest.raises(ValidationError) as error:
        trade(portfolio, asset, "buy", "100", "100", "0.01")  # 10000.01 > 10000
    assert "cash balance" in error.value.message_dict["quantity"][0]
    assert not PortfolioAsset.objects.filter(portfolio=portfolio).exists()
    assert not TradeAction.objects.exists()
    # Exactly the cash is fine.
    trade(portfolio, asset, "buy", "100", "100", "0")
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D(0)


def test_cash_is_left_alone_when_not_tracked(asset):
    portfolio = PortfolioFactory(track_cash=False, cash_balance=D("5"))
    trade(portfolio, asset, "buy", "100", "100", "1")
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D("5")
    assert holding_of(portfolio, asset).cost_basis == D("10001")


def test_trade_in_a_deleted_portfolio_is_refused(portfolio, asset):
    portfolio.soft_delete()
    with pytest.raises(ValidationError) as error:
        trade(portfolio, asset, "buy", "1", "100", "0")
    assert "portfolio" in error.value.message_dict
    assert not TradeAction.objects.exists()


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("quantity", {"quantity": D(0)}),
        ("price", {"price": D("-1")}),
        ("fee", {"fee": D("-0.1")}),
        ("action_type", {"action_type": "short"}),
        ("executed_at", {"executed_at": datetime.now(UTC) + timedelta(days=1)}),
    ],
)
def test_bad_inputs_name_the_field(portfolio, asset, field, values):
    arguments = {"action_type": "buy", "quantity": D(1), "price": D(1), "fee": D(0), **values}
    with pytest.raises(ValidationError) as error:
        trade_action_create(portfolio=portfolio, asset=asset, user=portfolio.user, **arguments)
    assert field in error.value.message_dict


def test_pending_trade_executes_once(portfolio, asset):
    pending = trade_action_create(
        portfolio=portfolio,
        asset=asset,
        user=portfolio.user,
        action_type="buy",
        quantity=D(1),
        price=D(100),
        execute=False,
    )
    assert pending.status == TradeStatus.PENDING
    assert not PortfolioAsset.objects.filter(portfolio=portfolio).exists()
    executed = trade_action_execute(trade=pending)
    assert executed.status == TradeStatus.EXECUTED
    with pytest.raises(ValidationError) as error:
        trade_action_execute(trade=executed)
    assert "status" in error.value.message_dict
    assert holding_of(portfolio, asset).quantity == D(1)


def test_factory_trade_executes_with_recorded_time(portfolio, asset):
    when = datetime(2024, 3, 1, tzinfo=UTC)
    pending = TradeActionFactory(portfolio=portfolio, asset=asset, executed_at=when)
    trade_action_execute(trade=pending)
    held = holding_of(portfolio, asset)
    assert held.first_purchase_at == when == held.last_transaction_at


def test_valuation_uses_the_latest_close(portfolio, asset):
    trade(portfolio, asset, "buy", "2", "100", "1")
    unpriced = AssetFactory(current_price=None)
    trade(portfolio, unpriced, "buy", "1", "50", "0")
    held = holdings_valued(PortfolioAsset.objects.filter(portfolio=portfolio)).get(asset=asset)
    assert held.current_price == D(130)
    assert held.current_value == D(260)
    assert held.unrealized_pnl == D(59)
    # No price at all: valued at cost.
    other = holdings_valued(PortfolioAsset.objects.filter(portfolio=portfolio)).get(asset=unpriced)
    assert other.current_price is None and other.current_value == D(50) and other.unrealized_pnl == 0
    valued = portfolios_valued().get(pk=portfolio.pk)
    assert valued.current_value == D(310)
    assert valued.unrealized_pnl == D(59)


def test_asset_without_candles_is_valued_at_its_quoted_price(portfolio):
    asset = AssetFactory(current_price=D("150"))
    trade(portfolio, asset, "buy", "2", "100", "0")
    held = holdings_valued().get(portfolio=portfolio, asset=asset)
    assert held.current_price == D(150) and held.unrealized_pnl == D(100)


def test_portfolio_valuation_query_count_does_not_grow(django_assert_num_queries, asset):
    for _ in range(3):
        trade(PortfolioFactory(), asset, "buy", "1", "100", "0")
    with django_assert_num_queries(1):
        assert len(list(portfolios_valued())) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_trade_waits_for_the_portfolio_lock_and_cannot_oversell():
    """While one trade holds the portfolio, another waits, then sees what the first left: no oversell."""
    portfolio = PortfolioFactory(track_cash=True, cash_balance=D("1000"))
    asset = AssetFactory()
    trade(portfolio, asset, "buy", "2", "100", "0")
    outcomes = []

    def sell():
        try:
            trade(portfolio, asset, "sell", "1.5", "100", "0")
            outcomes.append("sold")
        except ValidationError as error:
            outcomes.append(error.message_dict["quantity"][0])
        finally:
            connection.close()

    worker = threading.Thread(target=sell)
    with transaction.atomic():
        # A trade in progress: it holds the portfolio row until it commits.
        Portfolio.objects.select_for_update().get(pk=portfolio.pk)
        worker.start()
        worker.join(timeout=1)
        assert worker.is_alive(), "the second trade did not wait for the portfolio lock"
        trade(portfolio, asset, "sell", "1.5", "100", "0")
    worker.join(timeout=10)
    assert outcomes == [f"Cannot sell 1.50000000 {asset.symbol}: the portfolio holds 0.50000000."]
    assert holding_of(portfolio, asset).quantity == D("0.5")
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D("1000") - D("200") + D("150")


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


def dated(portfolio, asset, action_type, quantity, price, when, fee="0"):
    return trade_action_create(
        portfolio=portfolio,
        asset=asset,
        user=portfolio.user,
        action_type=action_type,
        quantity=D(quantity),
        price=D(price),
        fee=D(fee),
        executed_at=when,
    )


def test_trades_apply_in_executed_at_order_not_entry_order(portfolio, asset):
    # Entered: buy 1 @ 100 (Jan 3), buy 1 @ 200 (Jan 1), sell 1 @ 300 (Jan 2).
    # By time: Jan 1 buy @ 200 (average 200); Jan 2 sell @ 300 closes it, realized 300 - 200 = 100;
    # Jan 3 buy @ 100: 1 unit at cost 100, average 100. (Entry order would give average 150.)
    dated(portfolio, asset, "buy", "1", "100", day(3))
    dated(portfolio, asset, "buy", "1", "200", day(1))
    dated(portfolio, asset, "sell", "1", "300", day(2), fee="1")
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(1), D(100), D(100))
    assert held.realized_pnl == D(99)  # 300 - 1 fee - 200
    assert (held.first_purchase_at, held.last_transaction_at) == (day(1), day(3))
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D(10000) - 100 - 200 + 299
    assert (portfolio.total_cost_basis, portfolio.total_value) == (D(100), D(130))


def test_a_backdated_oversell_is_refused_naming_executed_at(portfolio, asset):
    dated(portfolio, asset, "buy", "1", "100", day(2))
    with pytest.raises(ValidationError) as error:
        dated(portfolio, asset, "sell", "1", "150", day(1))
    assert list(error.value.message_dict) == ["executed_at"]
    assert error.value.message_dict["executed_at"] == [
        f"At 2024-01-01 00:00 UTC, cannot sell 1.00000000 {asset.symbol}: the portfolio holds 0."
    ]
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.realized_pnl) == (D(1), D(0))
    assert TradeAction.objects.filter(portfolio=portfolio).count() == 1
    # The same sell after the buy is fine.
    dated(portfolio, asset, "sell", "1", "150", day(3))
    assert holding_of(portfolio, asset).realized_pnl == D(50)


def test_a_backdated_sell_that_starves_a_later_sell_is_refused(portfolio, asset):
    dated(portfolio, asset, "buy", "2", "100", day(1))
    dated(portfolio, asset, "sell", "2", "110", day(3))
    with pytest.raises(ValidationError) as error:
        dated(portfolio, asset, "sell", "1", "105", day(2))
    message = error.value.message_dict["executed_at"][0]
    assert message.startswith(
        "At 2024-01-02 00:00 UTC, then the sell of 2024-01-03 00:00 UTC fails: Cannot sell"
    )
    assert holding_of(portfolio, asset).quantity == 0


def test_a_backdated_buy_beyond_the_cash_of_its_time_is_refused(asset):
    portfolio = PortfolioFactory(track_cash=True, cash_balance=D("100"))
    other = AssetFactory()
    dated(portfolio, asset, "buy", "1", "100", day(2))  # cash 0 from Jan 2
    dated(portfolio, asset, "sell", "1", "100", day(4))  # cash 100 again from Jan 4
    # On Jan 3 there is no cash; a buy of 50 then is refused though the balance today is 100.
    with pytest.raises(ValidationError) as error:
        dated(portfolio, other, "buy", "1", "50", day(3))
    assert "At 2024-01-03 00:00 UTC, the buy costs 50" in error.value.message_dict["executed_at"][0]
    # On Jan 1 there were 100: a buy of 50 then leaves 50 for the Jan 2 buy of 100, which fails.
    with pytest.raises(ValidationError) as error:
        dated(portfolio, other, "buy", "1", "50", day(1))
    assert "then the buy of 2024-01-02 00:00 UTC fails" in error.value.message_dict["executed_at"][0]
    # After Jan 4 it fits.
    dated(portfolio, other, "buy", "1", "50", day(5))
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D(50)


def test_a_backdated_trade_without_cash_tracking_replays_its_asset_only(asset):
    portfolio = PortfolioFactory(track_cash=False)
    dated(portfolio, asset, "buy", "1", "300", day(5))
    dated(portfolio, AssetFactory(), "buy", "1", "10", day(6))
    dated(portfolio, asset, "buy", "1", "100", day(1))
    held = holding_of(portfolio, asset)
    assert (held.quantity, held.cost_basis, held.average_buy_price) == (D(2), D(400), D(200))
    assert held.first_purchase_at == day(1)


def test_a_backdated_trade_through_the_api_is_400_naming_executed_at(portfolio, asset):
    from rest_framework.test import APIClient

    dated(portfolio, asset, "buy", "1", "100", day(2))
    client = APIClient()
    client.force_authenticate(portfolio.user)
    payload = {
        "portfolio": portfolio.pk,
        "asset": asset.pk,
        "action_type": "sell",
        "quantity": "1",
        "price": "100",
        "executed_at": day(1).isoformat(),
    }
    answer = client.post("/api/v1/trade-actions/", payload, format="json")
    assert answer.status_code == 400
    fields = [key for key in answer.data if key not in ("detail", "code")]  # the error shape's own keys
    assert fields == ["executed_at"] and "holds 0" in answer.data["executed_at"][0]
