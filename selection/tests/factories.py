"""Factories for the selection app: watchlists, portfolios, their items and AI analyses."""

from decimal import Decimal

import factory
from django.utils import timezone

from selection.models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)

USER = "users.tests.factories.UserFactory"
ASSET = "assets.tests.factories.AssetFactory"
AI_MODEL = "ai.tests.factories.AIModelFactory"


class WatchlistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Watchlist

    user = factory.SubFactory(USER)
    name = factory.Sequence(lambda n: f"Watchlist {n}")


class WatchlistAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WatchlistAsset

    watchlist = factory.SubFactory(WatchlistFactory)
    asset = factory.SubFactory(ASSET)
    target_price = Decimal("120")
    alert_price_above = Decimal("110")
    alert_price_below = Decimal("90")


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    user = factory.SubFactory(USER)
    name = factory.Sequence(lambda n: f"Portfolio {n}")
    cash_balance = Decimal("10000")


class PortfolioAssetFactory(factory.django.DjangoModelFactory):
    """A holding of 2 units bought at 100."""

    class Meta:
        model = PortfolioAsset

    portfolio = factory.SubFactory(PortfolioFactory)
    asset = factory.SubFactory(ASSET)
    quantity = Decimal("2")
    average_buy_price = Decimal("100")
    cost_basis = Decimal("200")
    target_allocation = Decimal("25.00")
    first_purchase_at = factory.LazyFunction(timezone.now)
    last_transaction_at = factory.SelfAttribute("first_purchase_at")


class AIWatchlistAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIWatchlistAnalysis

    watchlist = factory.SubFactory(WatchlistFactory)
    ai_model = factory.SubFactory(AI_MODEL)
    analysis_time = factory.LazyFunction(timezone.now)
    overall_score = Decimal("72.50")
    diversification_score = Decimal("60.00")
    risk_score = Decimal("40.00")
    ai_confidence_score = Decimal("0.70")


class AIPortfolioAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIPortfolioAnalysis

    portfolio = factory.SubFactory(PortfolioFactory)
    ai_model = factory.SubFactory(AI_MODEL)
    analysis_time = factory.LazyFunction(timezone.now)
    portfolio_value = Decimal("10200")
    risk_score = Decimal("45.00")
    diversification_score = Decimal("55.00")
    expected_return = Decimal("0.1200")
    volatility = Decimal("0.6500")
    sharpe_ratio = Decimal("1.1000")
    max_drawdown = Decimal("0.2500")
    ai_confidence_score = Decimal("0.70")
