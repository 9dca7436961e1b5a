"""Factories for the trading app: signals, trades and holding analyses."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from ai.choices import ModelType
from trading.choices import ActionType, Recommendation, SignalType
from trading.models import AITradingSignal, PortfolioAssetAnalysis, TradeAction

AI_MODEL = "ai.tests.factories.AIModelFactory"


class AITradingSignalFactory(factory.django.DjangoModelFactory):
    """A buy signal (stop 90 < entry 100 < target 120); traits `sell` and `hold` give the others."""

    class Meta:
        model = AITradingSignal

    class Params:
        sell = factory.Trait(
            signal_type=SignalType.SELL, target_price=Decimal("80"), stop_loss=Decimal("110")
        )
        hold = factory.Trait(signal_type=SignalType.HOLD, entry_price=None, target_price=None, stop_loss=None)

    asset = factory.SubFactory("assets.tests.factories.AssetFactory")
    ai_model = factory.SubFactory(AI_MODEL, model_type=ModelType.TIMING)
    signal_type = SignalType.BUY
    strength = Decimal("0.7000")
    entry_price = Decimal("100")
    target_price = Decimal("120")
    stop_loss = Decimal("90")
    risk_reward_ratio = Decimal("2.0000")
    time_horizon_hours = 24
    generated_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.generated_at + timedelta(hours=24))
    ai_confidence_score = Decimal("0.80")


class TradeActionFactory(factory.django.DjangoModelFactory):
    """A pending buy of 1.5 units at 100 by the portfolio's owner."""

    class Meta:
        model = TradeAction

    portfolio = factory.SubFactory("selection.tests.factories.PortfolioFactory")
    asset = factory.SubFactory("assets.tests.factories.AssetFactory")
    user = factory.SelfAttribute("portfolio.user")
    action_type = ActionType.BUY
    quantity = Decimal("1.5")
    price = Decimal("100")
    fee = Decimal("0.15")
    total_value = factory.LazyAttribute(lambda o: o.quantity * o.price)
    exchange = "binance"


class PortfolioAssetAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PortfolioAssetAnalysis

    portfolio_asset = factory.SubFactory("selection.tests.factories.PortfolioAssetFactory")
    ai_model = factory.SubFactory(AI_MODEL)
    analysis_time = factory.LazyFunction(timezone.now)
    recommendation = Recommendation.HOLD
    suggested_allocation = Decimal("20.00")
    risk_score = Decimal("40.00")
    unrealized_pnl_pct = Decimal("5.0000")
    ai_confidence_score = Decimal("0.65")
