import pytest
from django.db.models import ProtectedError

from macro.models import AIRegimeAnalysis, MetricsSnapshot
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory

pytestmark = pytest.mark.django_db


def test_a_model_with_regime_analyses_cannot_be_deleted():
    analysis = AIRegimeAnalysisFactory()
    with pytest.raises(ProtectedError):
        analysis.ai_model.delete()


def test_deleting_a_snapshot_deletes_its_regime_analyses():
    analysis = AIRegimeAnalysisFactory()
    analysis.metrics_snapshot.delete()
    assert not AIRegimeAnalysis.objects.exists()


def test_one_snapshot_per_time_and_timeframe_but_many_timeframes():
    snapshot = MetricsSnapshotFactory()
    MetricsSnapshotFactory(snapshot_time=snapshot.snapshot_time, timeframe="1h")
    assert MetricsSnapshot.objects.filter(snapshot_time=snapshot.snapshot_time).count() == 2
