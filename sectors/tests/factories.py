"""Factories for the sectors app: sectors, their history, mappings and AI analyses."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from ai.choices import ModelType
from cryptopredict.aggregates import aggregates_refresh
from cryptopredict.choices import Timeframe
from sectors.choices import Outlook, RotationPhase, RotationSignal
from sectors.models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorDaily,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)

SECTOR_MODEL = "ai.tests.factories.AIModelFactory"
SNAPSHOT = "macro.tests.factories.MetricsSnapshotFactory"


class SectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sector

    name = factory.Sequence(lambda n: f"Sector {n}")
    slug = factory.Sequence(lambda n: f"sector-{n}")
    color = "#3366ff"


class SectorHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SectorHistory

    sector = factory.SubFactory(SectorFactory)
    snapshot_time = factory.Sequence(lambda n: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n))
    timeframe = Timeframe.D1
    total_market_cap = Decimal("5000000.00")
    dominance = Decimal("12.500")
    asset_count = 5

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        """Refresh the daily sector view as sector_history_build has it refreshed after its commit
        (a test's transaction never commits)."""
        super()._after_postgeneration(instance, create, results)
        if create:
            aggregates_refresh(views=[SectorDaily.VIEW])


class SectorMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SectorMapping

    asset = factory.SubFactory("assets.tests.factories.AssetFactory")
    sector = factory.SubFactory(SectorFactory)
    weight = Decimal("100")
    is_primary = False
    confidence = Decimal("0.90")


class AISectorAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AISectorAnalysis

    sector = factory.SubFactory(SectorFactory)
    metrics_snapshot = factory.SubFactory(SNAPSHOT)
    ai_model = factory.SubFactory(SECTOR_MODEL, model_type=ModelType.SECTOR)
    analysis_time = factory.SelfAttribute("metrics_snapshot.snapshot_time")
    momentum_score = Decimal("0.2500")
    relative_strength = Decimal("1.1000")
    performance_rank = 1
    outlook = Outlook.BULLISH
    rotation_signal = RotationSignal.INFLOW
    ai_confidence_score = Decimal("0.75")


class AICrossSectorAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AICrossSectorAnalysis

    metrics_snapshot = factory.SubFactory(SNAPSHOT)
    ai_model = factory.SubFactory(SECTOR_MODEL, model_type=ModelType.SECTOR)
    analysis_time = factory.SelfAttribute("metrics_snapshot.snapshot_time")
    timeframe = Timeframe.D1
    rotation_phase = RotationPhase.ALT_SEASON
    market_breadth = Decimal("61.50")


class SectorRotationFlowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SectorRotationFlow

    cross_analysis = factory.SubFactory(AICrossSectorAnalysisFactory)
    from_sector = factory.SubFactory(SectorFactory)
    to_sector = factory.SubFactory(SectorFactory)
    flow_strength = Decimal("0.4000")
    estimated_flow_usd = Decimal("2500000.00")
    timeframe = Timeframe.D1
    detected_at = factory.SelfAttribute("cross_analysis.analysis_time")
    confidence = Decimal("0.60")
