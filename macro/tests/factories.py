"""Factories for the macro app: market snapshots and regime analyses."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from ai.choices import ModelType
from cryptopredict.choices import Timeframe
from macro.choices import MarketRegime, RiskLevel
from macro.models import AIRegimeAnalysis, MetricsSnapshot


class MetricsSnapshotFactory(factory.django.DjangoModelFactory):
    """A daily snapshot; each row is one day after the previous one."""

    class Meta:
        model = MetricsSnapshot

    snapshot_time = factory.Sequence(lambda n: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n))
    timeframe = Timeframe.D1
    btc_price_usd = Decimal("65000")
    fear_greed_index = Decimal("55.00")
    btc_dominance = Decimal("52.50")
    rsi_14 = Decimal("58.20")


class AIRegimeAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIRegimeAnalysis

    metrics_snapshot = factory.SubFactory(MetricsSnapshotFactory)
    ai_model = factory.SubFactory("ai.tests.factories.AIModelFactory", model_type=ModelType.MACRO)
    analysis_time = factory.SelfAttribute("metrics_snapshot.snapshot_time")
    regime = MarketRegime.BULL
    regime_probabilities = factory.LazyFunction(lambda: {"Bull": 0.7, "Sideways": 0.2, "Bear": 0.1})
    regime_duration_days = 12
    trend_strength = Decimal("0.6000")
    volatility_level = RiskLevel.MEDIUM
    risk_level = RiskLevel.MEDIUM
    ai_confidence_score = Decimal("0.80")
    signal_agreement_score = Decimal("0.70")
