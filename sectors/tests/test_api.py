"""The sectors API: sectors by id or slug, history, mappings and layer-2 analyses."""

from django.urls import reverse

from ai.tests.factories import AIModelFactory
from assets.tests.factories import AssetFactory
from cryptopredict.testing.api import APIViewTestCases
from macro.tests.factories import MetricsSnapshotFactory
from sectors.models import (
    AICrossSectorAnalysis,
    AISectorAnalysis,
    Sector,
    SectorHistory,
    SectorMapping,
    SectorRotationFlow,
)
from sectors.tests.factories import (
    AICrossSectorAnalysisFactory,
    AISectorAnalysisFactory,
    SectorFactory,
    SectorHistoryFactory,
    SectorMappingFactory,
    SectorRotationFlowFactory,
)


class SectorAPITest(APIViewTestCases.APIViewTestCase):
    model = Sector
    basename = "sector"
    query_budget = {"list": 2, "retrieve": 1, "create": 7, "update": 9, "destroy": 12}
    factory = SectorFactory
    update_data = {"description": "Decentralised finance", "color": "#00ff00"}
    bad_data = [
        ({"color": "green"}, "color"),
        ({"slug": "not a slug"}, "slug"),
        ({"parent": 10**9}, "parent"),
    ]

    @classmethod
    def get_create_data(cls):
        return [{"name": name, "slug": name.lower()} for name in ("DeFi", "Layer1", "Gaming")]

    def test_retrieve_by_slug_and_filter_by_parent_slug(self):
        parent = SectorFactory(slug="defi")
        child = SectorFactory(slug="dex", parent=parent)
        self.login("guest")
        self.assertEqual(
            self.client.get(reverse("api:sector-detail", kwargs={"pk": "defi"})).data["id"], parent.pk
        )
        rows = self.client.get(self.list_url(parent="defi")).data["results"]
        self.assertEqual([(r["id"], r["parent_slug"]) for r in rows], [(child.pk, "defi")])

    def test_a_sector_is_never_its_own_ancestor(self):
        top = SectorFactory()
        child = SectorFactory(parent=top)
        self.login("admin")
        for parent in (top, child):
            response = self.client.patch(self.detail_url(top), {"parent": parent.pk}, format="json")
            self.assert_status(response, 400, f"parent {parent}")
            self.assertIn("parent", response.data)

    def test_cached_totals_are_read_only(self):
        sector = SectorFactory()
        self.login("admin")
        self.client.patch(self.detail_url(sector), {"asset_count": 99}, format="json")
        sector.refresh_from_db()
        self.assertEqual(sector.asset_count, 0)


class SectorHistoryAPITest(APIViewTestCases.APIViewTestCase):
    model = SectorHistory
    basename = "sectorhistory"
    query_budget = {"list": 1, "retrieve": 1, "create": 12, "update": 11, "destroy": 5}
    factory = SectorHistoryFactory
    update_data = {"dominance": "14.250", "asset_count": 7}
    bad_data = [
        ({"dominance": "101"}, "dominance"),
        ({"asset_count": -1}, "asset_count"),
        ({"timeframe": "3d"}, "timeframe"),
        ({"sector": 10**9}, "sector"),
    ]

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.sector = SectorFactory(slug="defi")

    @classmethod
    def get_create_data(cls):
        return [
            {
                "sector": cls.sector.pk,
                "timeframe": "1d",
                "snapshot_time": f"2025-01-0{n}T00:00:00Z",
                "asset_count": 3,
            }
            for n in (1, 2, 3)
        ]

    def test_filter_by_sector_slug(self):
        SectorHistoryFactory(sector=self.sector)
        SectorHistoryFactory()
        self.login("guest")
        for query in ({"sector": "defi"}, {"sector_slug": "DEFI"}):
            rows = self.client.get(self.list_url(**query)).data["results"]
            self.assertEqual([r["sector_slug"] for r in rows], ["defi"], query)


class SectorMappingAPITest(APIViewTestCases.APIViewTestCase):
    model = SectorMapping
    basename = "sectormapping"
    query_budget = {"list": 2, "retrieve": 1, "create": 15, "update": 13, "destroy": 6}
    factory = SectorMappingFactory
    update_data = {"weight": "60.00", "confidence": "0.50"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.sectors = [SectorFactory() for _ in range(3)]
        cls.assets = [AssetFactory() for _ in range(3)]

    @classmethod
    def get_create_data(cls):
        return [
            {"asset": asset.pk, "sector": sector.pk, "weight": "100.00", "is_primary": True}
            for asset, sector in zip(cls.assets, cls.sectors, strict=True)
        ]

    bad_data = [
        ({"weight": "0"}, "weight"),
        ({"weight": "120"}, "weight"),
        ({"confidence": "2"}, "confidence"),
        ({"source": "rumour"}, "source"),
        ({"asset": 10**9}, "asset"),
    ]

    def test_weights_of_an_asset_sum_to_at_most_100(self):
        asset = self.assets[0]
        SectorMappingFactory(asset=asset, sector=self.sectors[0], weight=70, is_primary=True)
        self.login("admin")
        data = {"asset": asset.pk, "sector": self.sectors[1].pk, "weight": "40.00"}
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "weights over 100")
        self.assertIn("weight", response.data)
        response = self.client.post(
            self.list_url(), {**data, "weight": "30.00", "is_primary": True}, format="json"
        )
        self.assert_status(response, 400, "second primary")
        self.assertIn("unique_primary_sector allows one row per (asset)", str(response.data["is_primary"]))
        response = self.client.post(self.list_url(), {**data, "weight": "30.00"}, format="json")
        self.assert_status(response, 201, "weights up to 100")
        mapping = SectorMapping.objects.get(pk=response.data["id"])
        self.assertEqual(
            (mapping.added_by, mapping.last_modified_by), (self.users["admin"], self.users["admin"])
        )

    def test_filter_by_asset_symbol(self):
        mapping = SectorMappingFactory(asset=AssetFactory(symbol="UNI"))
        SectorMappingFactory()
        self.login("guest")
        rows = self.client.get(self.list_url(asset="UNI")).data["results"]
        self.assertEqual([(r["id"], r["asset_symbol"]) for r in rows], [(mapping.pk, "UNI")])


class AISectorAnalysisAPITest(APIViewTestCases.APIViewTestCase):
    model = AISectorAnalysis
    basename = "aisectoranalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 14, "update": 12, "destroy": 6}
    factory = AISectorAnalysisFactory
    update_data = {"outlook": "bearish", "momentum_score": "-0.3000"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.ai_model = AIModelFactory(model_type="sector")
        cls.snapshot = MetricsSnapshotFactory()
        cls.sectors = [SectorFactory() for _ in range(3)]

    @classmethod
    def get_create_data(cls):
        return [
            {
                "sector": sector.pk,
                "metrics_snapshot": cls.snapshot.pk,
                "ai_model": cls.ai_model.pk,
                "analysis_time": "2025-01-01T00:00:00Z",
                "outlook": "bullish",
                "performance_rank": rank,
            }
            for rank, sector in enumerate(cls.sectors, start=1)
        ]

    bad_data = [
        ({"momentum_score": "1.5"}, "momentum_score"),
        ({"performance_rank": 0}, "performance_rank"),
        ({"outlook": "sunny"}, "outlook"),
        ({"rotation_signal": "sideways"}, "rotation_signal"),
    ]


class AICrossSectorAnalysisAPITest(APIViewTestCases.APIViewTestCase):
    model = AICrossSectorAnalysis
    basename = "aicrosssectoranalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 13, "update": 12, "destroy": 6}
    factory = AICrossSectorAnalysisFactory
    update_data = {"rotation_phase": "risk_off", "market_breadth": "40.00"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.ai_model = AIModelFactory(model_type="sector")
        cls.snapshot = MetricsSnapshotFactory()

    @classmethod
    def get_create_data(cls):
        return [
            {
                "metrics_snapshot": cls.snapshot.pk,
                "ai_model": cls.ai_model.pk,
                "analysis_time": "2025-01-01T00:00:00Z",
                "timeframe": timeframe,
                "rotation_phase": "alt_season",
                "leading_sectors": [1, 2],
            }
            for timeframe in ("1d", "1w", "4h")
        ]

    bad_data = [
        ({"market_breadth": "101"}, "market_breadth"),
        ({"rotation_phase": "winter"}, "rotation_phase"),
    ]


class SectorRotationFlowAPITest(APIViewTestCases.APIViewTestCase):
    model = SectorRotationFlow
    basename = "sectorrotationflow"
    query_budget = {"list": 1, "retrieve": 1, "create": 14, "update": 12, "destroy": 5}
    factory = SectorRotationFlowFactory
    update_data = {"flow_strength": "0.9000", "confidence": "0.75"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.analysis = AICrossSectorAnalysisFactory()
        cls.sectors = [SectorFactory(slug=f"s{n}") for n in range(4)]

    @classmethod
    def get_create_data(cls):
        s = cls.sectors
        return [
            {
                "cross_analysis": cls.analysis.pk,
                "from_sector": a.pk,
                "to_sector": b.pk,
                "flow_strength": "0.5000",
                "detected_at": "2025-01-01T00:00:00Z",
            }
            for a, b in ((s[0], s[1]), (s[1], s[2]), (s[2], s[3]))
        ]

    bad_data = [
        ({"flow_strength": "1.5"}, "flow_strength"),
        ({"confidence": "-0.1"}, "confidence"),
        ({"to_sector": None}, "to_sector"),
    ]

    def test_from_and_to_must_differ(self):
        self.login("admin")
        data = {**self.get_create_data()[0], "to_sector": self.sectors[0].pk}
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "same sector")
        self.assertIn("chk_flow_distinct_sectors", str(response.data["from_sector"]))

    def test_filter_by_sector_slugs(self):
        flow = SectorRotationFlowFactory(from_sector=self.sectors[0], to_sector=self.sectors[1])
        SectorRotationFlowFactory()
        self.login("guest")
        rows = self.client.get(self.list_url(from_sector="s0", to_sector="s1")).data["results"]
        self.assertEqual(
            [(r["id"], r["from_sector_slug"], r["to_sector_slug"]) for r in rows], [(flow.pk, "s0", "s1")]
        )
