"""Owners' endpoints of the selection app: the permission matrix of docs/api.md, CRUD, lists."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ai.tests.factories import AIModelFactory
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.testing.api import OWNED_PERMISSIONS, APIViewTestCases, owned_permissions
from selection.models import (
    AIPortfolioAnalysis,
    AIWatchlistAnalysis,
    Portfolio,
    PortfolioAsset,
    Watchlist,
    WatchlistAsset,
)
from selection.tests.factories import (
    AIPortfolioAnalysisFactory,
    AIWatchlistAnalysisFactory,
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ids(answer):
    return {row["id"] for row in answer.data["results"]}


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def other():
    return UserFactory()


@pytest.mark.parametrize(("endpoint", "model"), [("watchlists", Watchlist), ("portfolios", Portfolio)])
def test_delete_soft_deletes_and_hides_the_children(endpoint, model, owner):
    if endpoint == "watchlists":
        obj, child = WatchlistFactory(user=owner), "watchlist-assets"
        WatchlistAssetFactory(watchlist=obj)
    else:
        obj, child = PortfolioFactory(user=owner), "holdings"
        PortfolioAssetFactory(portfolio=obj)
    client = client_for(owner)
    assert len(ids(client.get(f"{API}{child}/"))) == 1
    assert client.delete(f"{API}{endpoint}/{obj.pk}/").status_code == 204
    obj.refresh_from_db()
    assert obj.deleted_at is not None and obj.deleted_by == owner
    assert ids(client.get(f"{API}{endpoint}/")) == set()
    assert client.get(f"{API}{endpoint}/{obj.pk}/").status_code == 404
    assert ids(client.get(f"{API}{child}/")) == set()
    # Its name is free again.
    assert client.post(f"{API}{endpoint}/", {"name": obj.name}).status_code == 201


def test_watchlist_crud_and_items(owner):
    client = client_for(owner)
    created = client.post(f"{API}watchlists/", {"name": "Majors", "is_public": True, "is_default": True})
    assert created.status_code == 201, created.data
    assert created.data["user"] == owner.pk
    watchlist = created.data["id"]
    btc = AssetFactory(symbol="BTC")
    item = client.post(
        f"{API}watchlist-assets/",
        {"watchlist": watchlist, "asset": btc.pk, "alert_price_above": "110", "alert_price_below": "90"},
    )
    assert item.status_code == 201, item.data
    assert item.data["asset_symbol"] == "BTC" and item.data["added_by"] == owner.pk
    assert ids(client.get(f"{API}watchlist-assets/?asset=btc")) == {item.data["id"]}
    assert client.put(f"{API}watchlists/{watchlist}/", {"name": "Big caps"}).data["name"] == "Big caps"
    assert client.delete(f"{API}watchlist-assets/{item.data['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("endpoint", "data", "field"),
    [
        ("watchlists", {"name": ""}, "name"),
        ("watchlists", {"name": "x" * 101}, "name"),
        ("watchlists", {"name": "Taken"}, "name"),
        ("watchlists", {"name": "Second", "is_default": True}, "is_default"),
        ("portfolios", {"name": "P", "risk_profile": "reckless"}, "risk_profile"),
        ("portfolios", {"name": "P", "cash_balance": "-1"}, "cash_balance"),
        ("portfolios", {"name": "P", "cash_balance": "abc"}, "cash_balance"),
    ],
)
def test_bad_inputs_are_400_naming_the_field(owner, endpoint, data, field):
    WatchlistFactory(user=owner, name="Taken", is_default=True)
    answer = client_for(owner).post(f"{API}{endpoint}/", data)
    assert answer.status_code == 400
    assert field in answer.data, answer.data


def test_watchlist_item_bad_inputs(owner, other):
    client = client_for(owner)
    watchlist = WatchlistFactory(user=owner)
    asset = AssetFactory()
    base = {"watchlist": watchlist.pk, "asset": asset.pk}
    crossed = client.post(
        f"{API}watchlist-assets/", {**base, "alert_price_above": "90", "alert_price_below": "110"}
    )
    assert crossed.status_code == 400 and "alert_price_below" in crossed.data
    negative = client.post(f"{API}watchlist-assets/", {**base, "target_price": "-5"})
    assert negative.status_code == 400 and "target_price" in negative.data
    # Someone else's watchlist does not exist for you.
    foreign = client.post(f"{API}watchlist-assets/", {**base, "watchlist": WatchlistFactory(user=other).pk})
    assert foreign.status_code == 400 and "watchlist" in foreign.data
    assert client.post(f"{API}watchlist-assets/", base).status_code == 201
    duplicate = client.post(f"{API}watchlist-assets/", base)
    assert duplicate.status_code == 400, duplicate.data


def test_portfolio_and_holdings_show_value_and_unrealized_pnl(owner):
    asset = AssetFactory()
    PriceDataFactory(asset=asset, close_price=Decimal("150"), high_price=Decimal("155"))
    portfolio = PortfolioFactory(user=owner, total_cost_basis=Decimal("200"))
    holding = PortfolioAssetFactory(portfolio=portfolio, asset=asset)  # 2 units for 200
    client = client_for(owner)
    shown = client.get(f"{API}portfolios/{portfolio.pk}/").data
    assert Decimal(shown["current_value"]) == Decimal("300")
    assert Decimal(shown["unrealized_pnl"]) == Decimal("100")
    row = client.get(f"{API}holdings/{holding.pk}/").data
    assert Decimal(row["current_price"]) == Decimal("150")
    assert (Decimal(row["current_value"]), Decimal(row["unrealized_pnl"])) == (Decimal(300), Decimal(100))


def test_holdings_change_only_their_target_allocation(owner):
    holding = PortfolioAssetFactory(portfolio=PortfolioFactory(user=owner))
    client = client_for(owner)
    answer = client.patch(f"{API}holdings/{holding.pk}/", {"quantity": "1000", "target_allocation": "30"})
    assert answer.status_code == 200
    holding.refresh_from_db()
    assert holding.quantity == Decimal("2") and holding.target_allocation == Decimal("30")
    too_much = client.patch(f"{API}holdings/{holding.pk}/", {"target_allocation": "101"})
    assert too_much.status_code == 400 and "target_allocation" in too_much.data
    assert client.post(f"{API}holdings/", {"portfolio": holding.portfolio_id}).status_code == 405
    assert client.delete(f"{API}holdings/{holding.pk}/").status_code == 405


def test_analysis_written_for_own_portfolio_only(owner, other):
    model = AIModelFactory()
    client = client_for(owner)
    mine = PortfolioFactory(user=owner)
    data = {"ai_model": model.pk, "analysis_time": "2024-05-01T00:00:00Z", "risk_score": "40"}
    assert client.post(f"{API}portfolio-analyses/", {**data, "portfolio": mine.pk}).status_code == 201
    theirs = client.post(f"{API}portfolio-analyses/", {**data, "portfolio": PortfolioFactory(user=other).pk})
    assert theirs.status_code == 400 and "portfolio" in theirs.data
    out_of_range = client.post(
        f"{API}portfolio-analyses/", {**data, "portfolio": mine.pk, "risk_score": "140"}
    )
    assert out_of_range.status_code == 400 and "risk_score" in out_of_range.data


# The permission matrix of docs/api.md (private and public objects), CRUD, stored rows and query
# budgets through the shared API test base (cryptopredict.testing.api) -------------------------------


class WatchlistAPITest(APIViewTestCases.APIViewTestCase):
    model = Watchlist
    basename = "watchlist"
    query_budget = {"list": 2, "retrieve": 2, "create": 6, "update": 8, "destroy": 6}
    factory = WatchlistFactory
    owner_field = "user"
    public_field = "is_public"
    permissions = OWNED_PERMISSIONS
    update_data = {"name": "Renamed", "is_public": True}
    bad_data = [
        ({"name": ""}, "name"),
        ({"sort_order": "first"}, "sort_order"),
        ({"is_public": "maybe"}, "is_public"),
    ]
    filter_exclusions = ("deleted_at", "deleted_by")

    @classmethod
    def get_create_data(cls):
        return [{"name": f"List {n}", "description": "majors", "sort_order": n} for n in range(5)]


class PortfolioAPITest(APIViewTestCases.APIViewTestCase):
    model = Portfolio
    basename = "portfolio"
    query_budget = {"list": 2, "retrieve": 1, "create": 10, "update": 11, "destroy": 6}
    factory = PortfolioFactory
    owner_field = "user"
    public_field = "is_public"
    permissions = OWNED_PERMISSIONS
    update_data = {"description": "long term", "risk_profile": "aggressive"}
    bad_data = [({"risk_profile": "yolo"}, "risk_profile"), ({"cash_balance": "-1"}, "cash_balance")]
    filter_exclusions = ("deleted_at", "deleted_by")

    @classmethod
    def get_create_data(cls):
        return [{"name": f"Book {n}", "track_cash": True, "cash_balance": "1000.5"} for n in range(5)]


class OwnedChildAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.CreateObjectViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
    APIViewTestCases.DeleteObjectViewTestCase,
):
    """Rows hanging from a watchlist or portfolio, created under the creator's own parent."""

    permissions = OWNED_PERMISSIONS
    creator_role = "owner"

    # Not collected itself: pytest and unittest skip a base with no model.
    __test__ = False


class WatchlistAssetAPITest(OwnedChildAPITest):
    __test__ = True
    model = WatchlistAsset
    basename = "watchlistasset"
    # The factory's item has no mirrored price rules (only watchlist_item_save writes them): an
    # update writes its two, a delete cascades to none.
    query_budget = {"list": 2, "retrieve": 1, "create": 12, "update": 13, "destroy": 7}
    factory = WatchlistAssetFactory
    owner_field = "watchlist__user"
    public_field = "watchlist__is_public"
    update_data = {"notes": "buy the dip", "target_price": "150"}

    def create_data(self, role):
        watchlist = WatchlistFactory(user=self.users[role])
        return [
            {
                "watchlist": watchlist.pk,
                "asset": AssetFactory().pk,
                "notes": f"idea {n}",
                "target_price": "150",
            }
            for n in range(3)
        ]

    def test_duplicate_asset_is_refused_naming_the_asset(self):
        item = WatchlistAssetFactory(watchlist__user=self.users["owner"])
        self.login("owner")
        data = {"watchlist": item.watchlist_id, "asset": item.asset_id}
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "duplicate item")
        self.assertIn("unique_watchlist_asset", str(response.data["asset"]))


class PortfolioAssetAPITest(
    APIViewTestCases.GetObjectViewTestCase,
    APIViewTestCases.ListObjectsViewTestCase,
    APIViewTestCases.UpdateObjectViewTestCase,
):
    model = PortfolioAsset
    basename = "portfolioasset"
    query_budget = {"list": 2, "retrieve": 1, "update": 9}
    factory = PortfolioAssetFactory
    owner_field = "portfolio__user"
    public_field = "portfolio__is_public"
    permissions = owned_permissions(creatable=False)
    update_data = {"target_allocation": "12.50"}


class WatchlistAnalysisAPITest(OwnedChildAPITest):
    __test__ = True
    model = AIWatchlistAnalysis
    basename = "aiwatchlistanalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 9, "update": 8, "destroy": 5}
    factory = AIWatchlistAnalysisFactory
    owner_field = "watchlist__user"
    public_field = "watchlist__is_public"
    update_data = {"summary": "concentrated", "risk_score": "55.00"}

    def create_data(self, role):
        watchlist, model = WatchlistFactory(user=self.users[role]), AIModelFactory()
        return [
            {
                "watchlist": watchlist.pk,
                "ai_model": model.pk,
                "analysis_time": f"2024-05-0{n + 1}T00:00:00Z",
                "risk_score": "40.00",
                "summary": "balanced",
            }
            for n in range(3)
        ]


class PortfolioAnalysisAPITest(OwnedChildAPITest):
    __test__ = True
    model = AIPortfolioAnalysis
    basename = "aiportfolioanalysis"
    query_budget = {"list": 1, "retrieve": 1, "create": 9, "update": 8, "destroy": 5}
    factory = AIPortfolioAnalysisFactory
    owner_field = "portfolio__user"
    public_field = "portfolio__is_public"
    update_data = {"summary": "rebalance", "risk_score": "60.00"}

    def create_data(self, role):
        portfolio, model = PortfolioFactory(user=self.users[role]), AIModelFactory()
        return [
            {
                "portfolio": portfolio.pk,
                "ai_model": model.pk,
                "analysis_time": f"2024-05-0{n + 1}T00:00:00Z",
                "risk_score": "40.00",
                "summary": "hold",
            }
            for n in range(3)
        ]
