"""The macro API: market snapshots and regime analyses (shared base) plus their own rules."""

from ai.tests.factories import AIModelFactory
from cryptopredict.testing.api import APIViewTestCases
from macro.models import AIRegimeAnalysis, MetricsSnapshot
from macro.tests.factories import AIRegimeAnalysisFactory, MetricsSnapshotFactory


class MetricsSnapshotAPITest(APIViewTestCases.APIViewTestCase):
    model = MetricsSnapshot
    basename = "metricssnapshot"
    query_budget = {"list": 1, "retrieve": 1, "create": 11, "update": 8, "destroy": 8}
    factory = MetricsSnapshotFactory
    update_data = {"fear_greed_index": "71.00", "has_anomalies": True}
    bad_data = [
        ({"fear_greed_index": "101"}, "fear_greed_index"),
        ({"btc_dominance": "-1"}, "btc_dominance"),
        ({"btc_price_usd": "0"}, "btc_price_usd"),
        ({"collection_duration_ms": -5}, "collection_duration_ms"),
        ({"timeframe": "7h"}, "timeframe"),
        ({"snapshot_time": "not-a-time"}, "snapshot_time"),
        ({"rsi_14": "1234.567"}, "rsi_14"),
    ]

    @classmethod
    def get_create_data(cls):
        return [
            {"snapshot_time": f"2025-01-0{n}T00:00:00Z", "timeframe": "1d", "btc_price_usd": "95000.5"}
            for n in (1, 2, 3)
        ]

    def test_duplicate_snapshot_is_refused(self):
        MetricsSnapshotFactory(snapshot_time="2025-01-01T00:00:00Z", timeframe="1d")
        self.login("admin")
        response = self.client.post(self.list_url(), self.get_create_data()[0], format="json")
        self.assert_status(response, 400, "duplicate snapshot")
        self.assertIn("unique_snapshot_time_timeframe", str(response.data["timeframe"]))

    def test_time_range_filter(self):
        for day in (1, 2, 3):
            MetricsSnapshotFactory(snapshot_time=f"2025-01-0{day}T00:00:00Z")
        self.login("guest")
        rows = self.client.get(
            self.list_url(snapshot_time__gte="2025-01-02T00:00:00Z", snapshot_time__lt="2025-01-03T00:00:00Z")
        ).data["results"]
        self.assertEqual([r["snapshot_time"] for r in rows], ["2025-01-02T00:00:00Z"])


class AIRegimeAnalysisAPITest(APIViewTestCases.APIViewTestCase):
    model = AIRegimeAnalysis
    basename = "airegimeanalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 13, "update": 8, "destroy": 6}
    factory = AIRegimeAnalysisFactory
    update_data = {"summary": "Trend weakening", "trend_strength": "0.2000"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.ai_model = AIModelFactory(model_type="macro")
        cls.snapshots = [MetricsSnapshotFactory() for _ in range(3)]

    @classmethod
    def get_create_data(cls):
        return [
            {
                "metrics_snapshot": snapshot.pk,
                "ai_model": cls.ai_model.pk,
                "analysis_time": snapshot.snapshot_time.isoformat(),
                "regime": "Bull",
                "regime_probabilities": {"Bull": 0.7, "Bear": 0.3},
                "ai_confidence_score": "0.80",
            }
            for snapshot in cls.snapshots
        ]

    bad_data = [
        ({"regime": "Moon"}, "regime"),
        ({"regime_probabilities": {"Bull": 0.5, "Bear": 0.2}}, "regime_probabilities"),
        ({"regime_probabilities": {"Moon": 1}}, "regime_probabilities"),
        ({"trend_strength": "1.5"}, "trend_strength"),
        ({"ai_confidence_score": "1.10"}, "ai_confidence_score"),
        ({"regime_duration_days": -1}, "regime_duration_days"),
        ({"risk_level": "cosmic"}, "risk_level"),
    ]

    def test_shows_model_name_and_snapshot_time(self):
        analysis = AIRegimeAnalysisFactory()
        self.login("guest")
        data = self.client.get(self.detail_url(analysis)).data
        self.assertEqual(data["ai_model_name"], analysis.ai_model.name)
        self.assertEqual(data["metrics_snapshot"], analysis.metrics_snapshot_id)

    def test_in_sample_rows_are_hidden_unless_asked_for(self):
        shown = AIRegimeAnalysisFactory()
        hidden = AIRegimeAnalysisFactory(in_sample=True)
        self.login("guest")

        def ids(**query):
            response = self.client.get(self.list_url(**query))
            self.assertEqual(response.status_code, 200, response.data)
            return {row["id"] for row in response.data["results"]} & {shown.pk, hidden.pk}

        self.assertEqual(ids(), {shown.pk})
        self.assertEqual(ids(in_sample="false"), {shown.pk})
        self.assertEqual(ids(in_sample="true"), {hidden.pk})
        self.assertEqual(ids(in_sample="all"), {shown.pk, hidden.pk})
        self.assertEqual(self.client.get(self.detail_url(hidden)).status_code, 404)
        detail = self.client.get(self.detail_url(hidden) + "?in_sample=all")
        self.assertIs(detail.data["in_sample"], True)
        self.assertEqual(self.client.get(self.list_url(in_sample="maybe")).status_code, 400)
