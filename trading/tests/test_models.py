from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from selection.models import Portfolio
from trading.choices import SignalType, TradeStatus
from trading.models import AITradingSignal, TradeAction
from trading.tests.factories import AITradingSignalFactory, TradeActionFactory

pytestmark = pytest.mark.django_db


def test_the_database_accepts_a_sell_in_its_order_and_a_hold_without_prices():
    signal = AITradingSignalFactory()
    # A sell's prices run the other way (target < entry < stop); a hold has none at all.
    AITradingSignal.objects.filter(pk=signal.pk).update(
        signal_type=SignalType.SELL, target_price=Decimal("80"), stop_loss=Decimal("110")
    )
    AITradingSignal.objects.filter(pk=signal.pk).update(
        signal_type=SignalType.HOLD, entry_price=None, target_price=None, stop_loss=None
    )
    stored = AITradingSignal.objects.values_list("signal_type", "entry_price").get(pk=signal.pk)
    assert stored == (SignalType.HOLD, None)


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
    TradeActionFactory.create_batch(2, external_order_id=None)  # many trades without an order id
    with pytest.raises(IntegrityError), transaction.atomic():
        TradeActionFactory(exchange="binance", external_order_id="42")
    assert TradeAction.objects.count() == 4


def test_an_executed_trade_needs_its_time():
    trade = TradeActionFactory()
    with pytest.raises(IntegrityError, match="chk_trade_executed_at"), transaction.atomic():
        TradeAction.objects.filter(pk=trade.pk).update(status=TradeStatus.EXECUTED, executed_at=None)
    TradeAction.objects.filter(pk=trade.pk).update(status=TradeStatus.EXECUTED, executed_at=timezone.now())
    assert TradeAction.objects.get(pk=trade.pk).status == TradeStatus.EXECUTED


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
