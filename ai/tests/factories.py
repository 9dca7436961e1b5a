"""Factories for the ai app: models, evaluations and jobs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from ai.choices import EvaluationType, ModelType
from ai.models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from cryptopredict.choices import Timeframe


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    name = factory.Sequence(lambda n: f"model-{n}")
    version = factory.Sequence(lambda n: f"1.0.{n}")
    architecture = "gradient_boosting"
    model_type = ModelType.ASSET
    training_data_timeframe = Timeframe.D1
    target_variable = "next_return"


class ModelEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelEvaluation

    model = factory.SubFactory(AIModelFactory)
    evaluation_type = EvaluationType.BACKTEST
    period_start = datetime(2024, 1, 1, tzinfo=UTC)
    period_end = factory.LazyAttribute(lambda o: o.period_start + timedelta(days=90))
    timeframe = Timeframe.D1
    sample_size = 90
    accuracy = Decimal("0.5500")
    win_rate = Decimal("0.5200")
    max_drawdown = Decimal("0.1500")
    sharpe_ratio = Decimal("1.2000")
    trade_count = 12


class ModelTrainingJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelTrainingJob

    model = factory.SubFactory(AIModelFactory)
    timeframe = Timeframe.D1
    parameters = factory.LazyFunction(lambda: {"epochs": 10})


class ModelPredictionJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPredictionJob

    model = factory.SubFactory(AIModelFactory)
    asset = factory.SubFactory("assets.tests.factories.AssetFactory")
    timeframe = Timeframe.D1
