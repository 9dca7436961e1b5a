from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from selection.models import Portfolio
from trading.choices import SignalType, TradeStatus
from trading.models import AITradingSignal, TradeAction
from trading.tests.factories import AITradingSignalFactory, TradeActionFactory

pytestmark = pytest.mark.django_db


def test_sell_and_hold_signals_save():
    sell = AITradingSignalFactory(sell=True)
    hold = AITradingSignalFactory(hold=True)
    assert sell.target_price < sell.entry_price < sell.stop_loss
    assert AITradingSignal.objects.get(pk=hold.pk).entry_price is None


@pytest.mark.parametrize(
    "prices",
    [
        {"signal_type": SignalType.BUY, "stop_loss": None},
        {"signal_type": SignalType.BUY, "target_price": Decimal("95")},
        {"signal_type": SignalType.SELL},  # the buy's prices in the wrong order for a sell
        {"signal_type": SignalType.SELL, "target_price": Decimal("80"), "stop_loss": None},
        {"signal_type": SignalType.SELL, "target_price": Decimal("80"), "stop_loss": Decimal("100")},
    ],
)
def test_signal_prices_must_be_in_order_for_its_side(prices):
    signal = AITradingSignalFactory()
    with pytest.raises(IntegrityError, match="chk_signal_price_logic"), transaction.atomic():
        AITradingSignal.objects.filter(pk=signal.pk).update(**prices)


def test_external_order_ids_are_unique_per_exchange_only():
    TradeActionFactory(exchange="binance", external_order_id="42")
    TradeActionFactory(exchange="kraken", external_order_id="42")
    TradeActionFactory.create_batch(2, external_order_id=None)
    assert TradeAction.objects.count() == 4


def test_an_executed_trade_has_its_time():
    trade = TradeActionFactory(status=TradeStatus.EXECUTED, executed_at=timezone.now())
    trade.refresh_from_db()
    assert trade.status == TradeStatus.EXECUTED
    assert trade.total_value == trade.quantity * trade.price


def test_deleting_a_signal_keeps_the_trades_made_on_it():
    signal = AITradingSignalFactory()
    trade = TradeActionFactory(signal=signal, asset=signal.asset)
    signal.delete()
    trade.refresh_from_db()
    assert trade.signal is None


def test_deleting_a_portfolio_deletes_its_trades():
    trade = TradeActionFactory()
    Portfolio.objects.filter(pk=trade.portfolio_id).delete()
    assert not TradeAction.objects.exists()
